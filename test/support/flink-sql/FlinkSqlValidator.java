import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Flink's validator on whole statements: explains each line of the file (base64 of one SELECT
 * statement) with a batch TableEnvironment, which resolves its columns and checks its types,
 * and prints "OK" or "ERR <message>", one line per statement. Runs with the distribution's lib/
 * on the class path, whose planner loader provides the planner.
 */
public class FlinkSqlValidator {
  public static void main(String[] args) throws Exception {
    TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inBatchMode());
    for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
      try {
        env.explainSql(new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8));
        System.out.println("OK");
      } catch (Exception e) {
        System.out.println("ERR " + String.valueOf(e.getMessage()).replaceAll("\\s+", " "));
      }
    }
  }
}
