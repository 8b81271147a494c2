import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import java.util.List;
import java.util.TreeSet;
import org.apache.calcite.config.Lex;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.parser.SqlAbstractParserImpl;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.flink.sql.parser.impl.FlinkSqlParserImpl;
import org.apache.flink.sql.parser.validate.FlinkSqlConformance;

/**
 * Flink's own SQL parser, as the table planner configures it (FlinkSqlParserImpl, Lex.JAVA,
 * the default conformance), on expressions: `keywords` prints each keyword token with its flags
 * (R reserved, F reserved function name, C context variable); `parse <file>` parses each line
 * of the file (base64 of one expression) with SqlParser.parseExpression and prints "OK <kind>"
 * or "ERR <message>", one line per expression. (FlinkSqlValidator validates whole statements.)
 */
public class FlinkExpressionParser {
  public static void main(String[] args) throws Exception {
    if (args[0].equals("keywords")) {
      SqlAbstractParserImpl.Metadata md = FlinkSqlParserImpl.FACTORY.getParser(new StringReader("")).getMetadata();
      TreeSet<String> out = new TreeSet<>();
      for (String t : md.getTokens()) {
        out.add(t + " " + (md.isReservedWord(t) ? "R" : "-") + (md.isReservedFunctionName(t) ? "F" : "-") + (md.isContextVariableName(t) ? "C" : "-"));
      }
      for (String line : out) System.out.println(line);
      return;
    }
    List<String> lines = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
    SqlParser.Config config = SqlParser.config()
        .withParserFactory(FlinkSqlParserImpl.FACTORY)
        .withConformance(FlinkSqlConformance.DEFAULT)
        .withLex(Lex.JAVA)
        .withIdentifierMaxLength(256);
    for (String line : lines) {
      String expr = new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8);
      try {
        SqlNode node = SqlParser.create(expr, config).parseExpression();
        System.out.println("OK " + node.getKind());
      } catch (Exception e) {
        System.out.println("ERR " + String.valueOf(e.getMessage()).replaceAll("\\s+", " "));
      }
    }
  }
}
