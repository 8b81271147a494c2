package org.cdk8sflink.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqlScriptTest {

  private static List<String> sqls(String script) {
    return SqlScript.split(script).stream().map(s -> s.sql).collect(Collectors.toList());
  }

  @Test
  void splitsAtSemicolons() {
    assertEquals(List.of("CREATE TABLE a (x INT)", "INSERT INTO b SELECT * FROM a"),
        sqls("CREATE TABLE a (x INT);\nINSERT INTO b SELECT * FROM a;\n"));
  }

  @Test
  void lastStatementWithoutSemicolon() {
    assertEquals(List.of("SELECT 1", "SELECT 2"), sqls("SELECT 1; SELECT 2"));
  }

  @Test
  void semicolonInsideStringLiteral() {
    assertEquals(List.of("INSERT INTO t VALUES ('a;b', 'c')", "SELECT 1"),
        sqls("INSERT INTO t VALUES ('a;b', 'c'); SELECT 1;"));
  }

  @Test
  void escapedQuoteInsideStringLiteral() {
    assertEquals(List.of("SELECT 'it''s; fine'", "SELECT 2"), sqls("SELECT 'it''s; fine'; SELECT 2;"));
  }

  @Test
  void semicolonInsideQuotedIdentifiers() {
    assertEquals(List.of("SELECT `a;b` FROM `t;1`", "SELECT \"x;y\""),
        sqls("SELECT `a;b` FROM `t;1`; SELECT \"x;y\";"));
  }

  @Test
  void lineCommentsAreDroppedAndDoNotSplit() {
    assertEquals(List.of("CREATE TABLE a (\n  x INT \n)", "SELECT 1"),
        sqls("-- header; with semicolon\nCREATE TABLE a (\n  x INT -- the x; column\n);\n-- trailing;\nSELECT 1;"));
  }

  @Test
  void blockCommentsAreDroppedAndDoNotSplit() {
    assertEquals(List.of("SELECT   1", "SELECT 2"),
        sqls("/* a; b\n c; */ SELECT /* inline; */ 1; SELECT 2 /* end; */"));
  }

  @Test
  void commentMarkersInsideStringsAreText() {
    assertEquals(List.of("SELECT '-- not a comment; /* nor this */'", "SELECT 2"),
        sqls("SELECT '-- not a comment; /* nor this */'; SELECT 2;"));
  }

  @Test
  void optimizerHintsAreKept() {
    assertEquals(List.of("SELECT * FROM t /*+ OPTIONS('scan.startup.mode'='earliest-offset') */"),
        sqls("SELECT * FROM t /*+ OPTIONS('scan.startup.mode'='earliest-offset') */;"));
  }

  @Test
  void emptyStatementsAndCommentOnlyScriptsAreDropped() {
    assertEquals(List.of("SELECT 1"), sqls(";;\n ; SELECT 1;;  ;"));
    assertEquals(List.of(), sqls("-- only a comment\n/* and another; */\n"));
    assertEquals(List.of(), sqls(""));
  }

  @Test
  void multiLineStringLiteral() {
    assertEquals(List.of("SELECT 'a\n;b'", "SELECT 2"), sqls("SELECT 'a\n;b'; SELECT 2"));
  }

  @Test
  void statementLineNumbers() {
    List<SqlScript.Statement> st = SqlScript.split("-- c\n\nSELECT 1;\n/* x\ny */ SELECT\n 'a\nb';\n\n  SELECT 3");
    assertEquals(3, st.get(0).line);
    assertEquals(5, st.get(1).line);
    assertEquals(9, st.get(2).line);
  }

  @Test
  void unterminatedStringIsAnError() {
    SqlScript.ScriptException e = assertThrows(SqlScript.ScriptException.class,
        () -> SqlScript.split("SELECT 1;\nSELECT 'abc;\n"));
    assertTrue(e.getMessage().contains("unterminated string literal"), e.getMessage());
    assertTrue(e.getMessage().contains("line 2"), e.getMessage());
  }

  @Test
  void unterminatedBlockCommentIsAnError() {
    assertThrows(SqlScript.ScriptException.class, () -> SqlScript.split("SELECT 1; /* never closed"));
  }

  @Test
  void planCollectsSetsDdlAndInserts() {
    SqlScript.Plan p = SqlScript.plan(String.join("\n",
        "SET 'execution.checkpointing.interval' = '5 s';",
        "SET 'pipeline.name' = 'it''s a job';",
        "CREATE TABLE src (x INT) WITH ('connector' = 'datagen');",
        "CREATE TABLE dst (x INT) WITH ('connector' = 'blackhole');",
        "INSERT INTO dst SELECT x FROM src WHERE x > 0;",
        "SET 'table.exec.sink.not-null-enforcer' = 'DROP';",
        "INSERT INTO dst SELECT x FROM src WHERE x < 0;"));
    assertEquals("5 s", p.initialConfig.get("execution.checkpointing.interval"));
    assertEquals("it's a job", p.initialConfig.get("pipeline.name"));
    assertEquals(5, p.steps.size());
    assertEquals(SqlScript.Kind.EXECUTE, p.steps.get(0).kind);
    assertEquals(SqlScript.Kind.INSERT, p.steps.get(2).kind);
    assertEquals(SqlScript.Kind.SET, p.steps.get(3).kind);
    assertEquals("table.exec.sink.not-null-enforcer", p.steps.get(3).key);
    assertEquals(2, p.insertCount());
  }

  @Test
  void planUnquotedSet() {
    SqlScript.Plan p = SqlScript.plan("SET parallelism.default = 2; SET a.b='c'; INSERT INTO t SELECT 1;");
    assertEquals("2", p.initialConfig.get("parallelism.default"));
    assertEquals("c", p.initialConfig.get("a.b"));
  }

  @Test
  void planStatementSetBlocks() {
    SqlScript.Plan p = SqlScript.plan(String.join("\n",
        "CREATE TABLE t (x INT);",
        "EXECUTE STATEMENT SET",
        "BEGIN",
        "  INSERT INTO a SELECT 1;",
        "  INSERT INTO b SELECT 2;",
        "END;",
        "BEGIN STATEMENT SET;",
        "INSERT INTO c SELECT 3;",
        "END;",
        "EXECUTE INSERT INTO d SELECT 4;"));
    assertEquals(List.of("INSERT INTO a SELECT 1", "INSERT INTO b SELECT 2", "INSERT INTO c SELECT 3",
        "INSERT INTO d SELECT 4"),
        p.steps.stream().filter(s -> s.kind == SqlScript.Kind.INSERT).map(s -> s.sql).collect(Collectors.toList()));
  }

  @Test
  void planRejectsQueriesAndBadBlocks() {
    assertThrows(SqlScript.ScriptException.class, () -> SqlScript.plan("SELECT * FROM t;"));
    assertThrows(SqlScript.ScriptException.class,
        () -> SqlScript.plan("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;"));
    assertThrows(SqlScript.ScriptException.class,
        () -> SqlScript.plan("BEGIN STATEMENT SET; CREATE TABLE x (a INT); END;"));
    assertThrows(SqlScript.ScriptException.class, () -> SqlScript.plan("END;"));
    assertThrows(SqlScript.ScriptException.class, () -> SqlScript.plan("SET 'a' 'b';"));
  }

  @Test
  void runnerErrorsForMissingAndEmptyScripts(@TempDir Path dir) throws Exception {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> SqlRunner.main(new String[] {"--script", dir.resolve("nope.sql").toString()}));
    assertTrue(missing.getMessage().contains("SQL script not found"), missing.getMessage());

    Path empty = dir.resolve("empty.sql");
    Files.write(empty, "-- nothing here\n\n".getBytes(StandardCharsets.UTF_8));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SqlRunner.main(new String[] {"--script", empty.toString()}));
    assertTrue(e.getMessage().contains("contains no SQL statements"), e.getMessage());

    Path ddlOnly = dir.resolve("ddl.sql");
    Files.write(ddlOnly, "CREATE TABLE a (x INT);".getBytes(StandardCharsets.UTF_8));
    e = assertThrows(IllegalArgumentException.class,
        () -> SqlRunner.main(new String[] {"--script", ddlOnly.toString()}));
    assertTrue(e.getMessage().contains("no INSERT INTO"), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> SqlRunner.main(new String[] {}));
    assertTrue(e.getMessage().contains("no SQL script given"), e.getMessage());
  }

  @Test
  void runnerDryRunPrintsPlan(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("job.sql");
    Files.write(f, "SET 'a' = 'b'; CREATE TABLE t (x INT); INSERT INTO t SELECT 1;".getBytes(StandardCharsets.UTF_8));
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(buf, true, "UTF-8"));
    try {
      SqlRunner.main(new String[] {"--script=" + f, "--dry-run"});
    } finally {
      System.setOut(old);
    }
    String out = buf.toString("UTF-8");
    assertTrue(out.contains("CONFIG a = b"), out);
    assertTrue(out.contains("INSERT INSERT INTO t SELECT 1"), out);
  }

  @Test
  void environmentReferencesAreFilledFromTheEnvironment() {
    java.util.Map<String, String> env = new java.util.HashMap<>();
    env.put("KAFKA_PASSWORD", "s3cr$t\\x");
    String sql = "CREATE TABLE t (x INT) WITH ('properties.sasl.jaas.config' = 'x password=\"${env:KAFKA_PASSWORD}\";');";
    String out = SqlRunner.substituteEnv(sql, env, java.nio.file.Paths.get("job.sql"));
    assertTrue(out.contains("password=\"s3cr$t\\x\""), out);
    SqlScript.ScriptException e = assertThrows(SqlScript.ScriptException.class,
        () -> SqlRunner.substituteEnv("SELECT 1;\nSELECT '${env:MISSING}';", env, java.nio.file.Paths.get("job.sql")));
    assertTrue(e.getMessage().contains("line 2: environment variable MISSING is not set"), e.getMessage());
  }

  @Test
  void inlineScriptIsDecodedFromBase64() throws Exception {
    String sql = "SET 'a' = 'b'; CREATE TABLE t (x INT); INSERT INTO t SELECT 1;";
    String b64 = java.util.Base64.getEncoder().encodeToString(sql.getBytes(StandardCharsets.UTF_8));
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(buf, true, "UTF-8"));
    try {
      SqlRunner.main(new String[] {"--script-base64", b64, "--dry-run"});
    } finally {
      System.setOut(old);
    }
    assertTrue(buf.toString("UTF-8").contains("CONFIG a = b"), buf.toString("UTF-8"));
  }
}
