import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Flink's validator on whole statements, with a batch TableEnvironment: `<file>` explains each
 * line (base64 of one SELECT statement), which resolves its columns and checks its types;
 * `execute <file> <table>` executes each line (base64 of one DDL statement: CREATE TABLE,
 * CREATE VIEW, which validates the view's query) and then prints "COLUMNS" and the columns of
 * `<table>`. Prints "OK" or "ERR <message>", one line per statement. Runs with the
 * distribution's lib/ on the class path, whose planner loader provides the planner.
 */
public class FlinkSqlValidator {
  public static void main(String[] args) throws Exception {
    TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inBatchMode());
    boolean execute = args[0].equals("execute");
    for (String line : Files.readAllLines(Paths.get(args[execute ? 1 : 0]), StandardCharsets.UTF_8)) {
      try {
        String statement = new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8);
        if (execute) env.executeSql(statement);
        else env.explainSql(statement);
        System.out.println("OK");
      } catch (Exception e) {
        System.out.println("ERR " + String.valueOf(e.getMessage()).replaceAll("\\s+", " "));
      }
    }
    if (execute) System.out.println("COLUMNS " + String.join(" ", env.from(args[2]).getResolvedSchema().getColumnNames()));
  }
}
