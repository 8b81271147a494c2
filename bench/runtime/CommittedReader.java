import java.io.BufferedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The runtime benchmark's reader of the sink topic: Kafka's Java consumer, read_committed (what
 * a downstream reader of an exactly-once sink sees), every partition from the beginning.
 *
 * <pre>  CommittedReader &lt;bootstrap&gt; &lt;topic&gt;</pre>
 *
 * Writes one line per poll that returned records: {@code p <preloadCount> <timeMs>} (records
 * whose id starts with "p-" are only counted), then one line per other record:
 * {@code s <seq> <timeMs> <partition>@<offset> <ts>} for ids "s-<seq>", the time being when this
 * consumer received it. Exits when standard input closes.
 */
public final class CommittedReader {
  private static final byte[] PRELOAD = "{\"id\":\"p-".getBytes(StandardCharsets.UTF_8);
  private static final byte[] SEQ = "{\"id\":\"s-".getBytes(StandardCharsets.UTF_8);
  private static final byte[] TS = "\"ts\":\"".getBytes(StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    if (args.length != 2) throw new IllegalArgumentException("usage: CommittedReader <bootstrap> <topic>");
    Thread stdin = new Thread(() -> {
      try {
        while (System.in.read() >= 0) { /* until EOF */ }
      } catch (Exception ignored) { /* parent gone */ }
      System.exit(0);
    });
    stdin.setDaemon(true);
    stdin.start();

    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("isolation.level", "read_committed");
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("fetch.max.wait.ms", "50");
    p.put("max.poll.records", "5000");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, "UTF-8");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo i : c.partitionsFor(args[1], Duration.ofSeconds(30))) parts.add(new TopicPartition(args[1], i.partition()));
      c.assign(parts);
      c.seekToBeginning(parts);
      out.println("ready " + parts.size() + " " + System.currentTimeMillis());
      out.flush();
      long preload = 0;
      while (true) {
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
        if (rs.isEmpty()) continue;
        long now = System.currentTimeMillis();
        StringBuilder lines = new StringBuilder();
        for (ConsumerRecord<byte[], byte[]> r : rs) {
          byte[] v = r.value();
          if (v == null) continue;
          if (startsWith(v, PRELOAD)) {
            preload++;
          } else if (startsWith(v, SEQ)) {
            int end = indexOf(v, (byte) '"', SEQ.length);
            int ts = indexOf(v, TS, 0);
            int tsEnd = ts < 0 ? -1 : indexOf(v, (byte) '"', ts + TS.length);
            lines.append("s ").append(new String(v, SEQ.length, end - SEQ.length, StandardCharsets.UTF_8))
                .append(' ').append(now).append(' ').append(r.partition()).append('@').append(r.offset()).append(' ')
                .append(tsEnd < 0 ? "-" : new String(v, ts + TS.length, tsEnd - ts - TS.length, StandardCharsets.UTF_8)).append('\n');
          }
        }
        out.print("p " + preload + " " + now + "\n");
        out.print(lines);
        out.flush();
      }
    }
  }

  private static boolean startsWith(byte[] v, byte[] prefix) {
    if (v.length < prefix.length) return false;
    for (int i = 0; i < prefix.length; i++) if (v[i] != prefix[i]) return false;
    return true;
  }

  private static int indexOf(byte[] v, byte b, int from) {
    for (int i = from; i < v.length; i++) if (v[i] == b) return i;
    return -1;
  }

  private static int indexOf(byte[] v, byte[] needle, int from) {
    outer:
    for (int i = from; i <= v.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) if (v[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }
}
