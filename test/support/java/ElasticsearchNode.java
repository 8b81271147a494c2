import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.Netty4Plugin;

/**
 * One Elasticsearch node from Maven Central's jars: the server's own Node, with its settings
 * from <home>/config/elasticsearch.yml and log4j2.properties, and the Netty 4 transport (HTTP and
 * node transport) as a classpath plugin, the way Elasticsearch's own test clusters load plugins.
 * Started without the distribution's bootstrap (which refuses to run as root and expects the
 * distribution's layout for its security manager), so without bootstrap checks or a security
 * manager. Runs until SIGTERM, then closes the node.
 */
public class ElasticsearchNode {
  public static void main(String[] args) throws Exception {
    Path home = Paths.get(args[0]).toAbsolutePath();
    Environment env = InternalSettingsPreparer.prepareEnvironment(
        Settings.builder().put("path.home", home.toString()).build(), Collections.emptyMap(), home.resolve("config"), () -> "node-1");
    LogConfigurator.configure(env);
    Node node = new Node(env, List.of(Netty4Plugin.class), true) {};
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
      closed.countDown();
    }));
    node.start();
    closed.await();
  }
}
