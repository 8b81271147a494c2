import java.io.FileReader;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * A Java Kafka client with the properties of a file (java.util.Properties): describes the
 * cluster and lists the topics. Prints the kafka-clients version, the cluster id and the topics;
 * exits 1 with the innermost cause on one line when the brokers cannot be used.
 */
public class KafkaClientCheck {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    try (FileReader r = new FileReader(args[0])) {
      p.load(r);
    }
    System.out.println("kafka-clients " + AppInfoParser.getVersion());
    try (Admin admin = Admin.create(p)) {
      System.out.println("cluster " + admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS));
      System.out.println("topics " + admin.listTopics().names().get(30, TimeUnit.SECONDS));
    } catch (Exception e) {
      Throwable c = e;
      while (c.getCause() != null) c = c.getCause();
      System.err.println(e.getClass().getSimpleName() + ": " + e.getMessage() + " / cause: " + c.getClass().getName() + ": " + c.getMessage());
      System.exit(1);
    }
  }
}
