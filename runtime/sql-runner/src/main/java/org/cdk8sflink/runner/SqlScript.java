package org.cdk8sflink.runner;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pure-Java parsing of a Flink SQL script: splitting into statements and turning them into an
 * execution plan. Has no Flink dependency, so it is unit-tested on its own.
 */
public final class SqlScript {

  private SqlScript() {}

  /** One statement of a script, without its terminating semicolon. */
  public static final class Statement {
    /** The statement text, trimmed, with comments removed (optimizer hints kept). */
    public final String sql;
    /** 1-based line of the script where the statement starts. */
    public final int line;

    Statement(String sql, int line) {
      this.sql = sql;
      this.line = line;
    }

    @Override
    public String toString() {
      return "line " + line + ": " + sql;
    }
  }

  /** Thrown for a script that cannot be split or planned; the message names the line. */
  public static final class ScriptException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ScriptException(String message) {
      super(message);
    }
  }

  /**
   * Splits a script into statements at semicolons that are outside string literals ('...'),
   * quoted identifiers (`...` and "..."), line comments (-- ...) and block comments.
   * Comments are removed; optimizer hints (block comments starting with "/*+") are kept.
   * Empty statements (e.g. ";;" or a comment alone) are dropped.
   */
  public static List<Statement> split(String script) {
    List<Statement> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    int n = script.length();
    int line = 1;
    int stmtLine = -1; // line of the first non-blank char of the current statement
    int i = 0;
    while (i < n) {
      char c = script.charAt(i);
      char next = i + 1 < n ? script.charAt(i + 1) : '\0';
      if (c == '-' && next == '-') {
        // line comment: drop up to (not including) the newline
        int end = script.indexOf('\n', i);
        i = end < 0 ? n : end;
        continue;
      }
      if (c == '/' && next == '*') {
        boolean hint = i + 2 < n && script.charAt(i + 2) == '+';
        int end = script.indexOf("*/", i + 2);
        if (end < 0) {
          throw new ScriptException("unterminated /* comment starting at line " + line);
        }
        String body = script.substring(i, end + 2);
        if (hint) {
          if (stmtLine < 0) stmtLine = line;
          cur.append(body);
        } else {
          cur.append(' ');
        }
        line += count(body, '\n');
        i = end + 2;
        continue;
      }
      if (c == '\'' || c == '`' || c == '"') {
        int start = line;
        int j = i + 1;
        while (true) {
          if (j >= n) {
            String what = c == '\'' ? "string literal" : "quoted identifier";
            throw new ScriptException("unterminated " + what + " (" + c + ") starting at line " + start);
          }
          char d = script.charAt(j);
          if (d == c) {
            if (j + 1 < n && script.charAt(j + 1) == c) {
              j += 2; // doubled quote = escaped quote
              continue;
            }
            break;
          }
          j++;
        }
        String quoted = script.substring(i, j + 1);
        if (stmtLine < 0) stmtLine = line;
        cur.append(quoted);
        line += count(quoted, '\n');
        i = j + 1;
        continue;
      }
      if (c == ';') {
        flush(out, cur, stmtLine);
        cur.setLength(0);
        stmtLine = -1;
        i++;
        continue;
      }
      if (c == '\n') line++;
      if (stmtLine < 0 && !Character.isWhitespace(c)) stmtLine = line;
      cur.append(c);
      i++;
    }
    flush(out, cur, stmtLine);
    return out;
  }

  private static void flush(List<Statement> out, StringBuilder cur, int line) {
    String sql = cur.toString().trim();
    if (!sql.isEmpty()) out.add(new Statement(sql, line));
  }

  private static int count(String s, char c) {
    int k = 0;
    for (int i = 0; i < s.length(); i++) if (s.charAt(i) == c) k++;
    return k;
  }

  // ---------------------------------------------------------------------------------------------
  // Plan

  /** What the runner does with one statement. */
  public enum Kind {
    /** SET 'key' = 'value': a configuration entry. */
    SET,
    /** executed right away with TableEnvironment.executeSql (DDL, USE, LOAD MODULE, ...). */
    EXECUTE,
    /** INSERT INTO / INSERT OVERWRITE: added to the one StatementSet. */
    INSERT
  }

  /** One step of the plan. */
  public static final class Step {
    public final Kind kind;
    /** the SQL for EXECUTE and INSERT; null for SET. */
    public final String sql;
    /** the key and value for SET; null otherwise. */
    public final String key;
    public final String value;
    public final int line;

    Step(Kind kind, String sql, String key, String value, int line) {
      this.kind = kind;
      this.sql = sql;
      this.key = key;
      this.value = value;
      this.line = line;
    }

    @Override
    public String toString() {
      return kind == Kind.SET ? "SET " + key + " = " + value : kind + " " + sql;
    }
  }

  /** The plan of a script. */
  public static final class Plan {
    /** SET statements that come before any other statement: used to create the environment. */
    public final Map<String, String> initialConfig;
    /** every step after the initial SETs, in script order. */
    public final List<Step> steps;

    Plan(Map<String, String> initialConfig, List<Step> steps) {
      this.initialConfig = Collections.unmodifiableMap(initialConfig);
      this.steps = Collections.unmodifiableList(steps);
    }

    public int insertCount() {
      int k = 0;
      for (Step s : steps) if (s.kind == Kind.INSERT) k++;
      return k;
    }
  }

  private static final int CI = Pattern.CASE_INSENSITIVE | Pattern.DOTALL;
  private static final Pattern SET_QUOTED =
      Pattern.compile("^SET\\s+'((?:[^']|'')*)'\\s*=\\s*'((?:[^']|'')*)'$", CI);
  private static final Pattern SET_PLAIN = Pattern.compile("^SET\\s+([^\\s='`]+)\\s*=\\s*(.*)$", CI);
  private static final Pattern SET_ANY = Pattern.compile("^SET(\\s.*)?$", CI);
  private static final Pattern RESET = Pattern.compile("^RESET(\\s.*)?$", CI);
  private static final Pattern INSERT = Pattern.compile("^INSERT\\s+(INTO|OVERWRITE)\\s.*$", CI);
  private static final Pattern EXECUTE_INSERT = Pattern.compile("^EXECUTE\\s+(INSERT\\s.*)$", CI);
  private static final Pattern EXECUTE_SET_BEGIN =
      Pattern.compile("^EXECUTE\\s+STATEMENT\\s+SET\\s+BEGIN(?:\\s+(.*))?$", CI);
  private static final Pattern BEGIN_SET = Pattern.compile("^BEGIN\\s+STATEMENT\\s+SET$", CI);
  private static final Pattern END = Pattern.compile("^END$", CI);
  private static final Pattern QUERY = Pattern.compile("^(SELECT|VALUES|WITH|TABLE)\\b.*$", CI);

  /** Splits and plans a script. */
  public static Plan plan(String script) {
    return plan(split(script));
  }

  /**
   * Turns statements into a plan. INSERTs (also inside "EXECUTE STATEMENT SET BEGIN ... END" and
   * the SQL client's "BEGIN STATEMENT SET; ... END;") become INSERT steps; SET statements become
   * configuration; SELECT queries are rejected (their result would go nowhere in a job);
   * everything else is executed as it comes.
   */
  public static Plan plan(List<Statement> statements) {
    Map<String, String> initial = new LinkedHashMap<>();
    List<Step> steps = new ArrayList<>();
    boolean inSet = false;
    int setLine = 0;
    for (Statement st : statements) {
      String sql = st.sql;
      Matcher m;
      if (inSet) {
        if (END.matcher(sql).matches()) {
          inSet = false;
          continue;
        }
        if (!INSERT.matcher(sql).matches()) {
          throw new ScriptException("line " + st.line + ": only INSERT statements are allowed inside the"
              + " STATEMENT SET that starts at line " + setLine + ", found: " + abbreviate(sql));
        }
        steps.add(new Step(Kind.INSERT, sql, null, null, st.line));
        continue;
      }
      if ((m = EXECUTE_SET_BEGIN.matcher(sql)).matches()) {
        inSet = true;
        setLine = st.line;
        String first = m.group(1);
        if (first != null && !first.trim().isEmpty()) {
          first = first.trim();
          if (END.matcher(first).matches()) {
            inSet = false;
          } else if (!INSERT.matcher(first).matches()) {
            throw new ScriptException("line " + st.line + ": only INSERT statements are allowed inside"
                + " EXECUTE STATEMENT SET BEGIN ... END, found: " + abbreviate(first));
          } else {
            steps.add(new Step(Kind.INSERT, first, null, null, st.line));
          }
        }
        continue;
      }
      if (BEGIN_SET.matcher(sql).matches()) {
        inSet = true;
        setLine = st.line;
        continue;
      }
      if (END.matcher(sql).matches()) {
        throw new ScriptException("line " + st.line + ": END without BEGIN STATEMENT SET");
      }
      if ((m = SET_QUOTED.matcher(sql)).matches()) {
        addSet(initial, steps, unquote(m.group(1)), unquote(m.group(2)), st.line);
        continue;
      }
      if ((m = SET_PLAIN.matcher(sql)).matches()) {
        String value = m.group(2).trim();
        if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
          value = unquote(value.substring(1, value.length() - 1));
        }
        addSet(initial, steps, m.group(1), value, st.line);
        continue;
      }
      if (SET_ANY.matcher(sql).matches()) {
        throw new ScriptException("line " + st.line + ": cannot parse SET statement (expected SET 'key' = 'value'): "
            + abbreviate(sql));
      }
      if (RESET.matcher(sql).matches()) {
        throw new ScriptException("line " + st.line + ": RESET is not supported in a pipeline script: "
            + abbreviate(sql));
      }
      if ((m = EXECUTE_INSERT.matcher(sql)).matches()) {
        steps.add(new Step(Kind.INSERT, m.group(1).trim(), null, null, st.line));
        continue;
      }
      if (INSERT.matcher(sql).matches()) {
        steps.add(new Step(Kind.INSERT, sql, null, null, st.line));
        continue;
      }
      if (QUERY.matcher(sql).matches()) {
        throw new ScriptException("line " + st.line + ": a pipeline script cannot run a query on its own (its"
            + " result would go nowhere); write it as INSERT INTO <sink table> SELECT ...: " + abbreviate(sql));
      }
      steps.add(new Step(Kind.EXECUTE, sql, null, null, st.line));
    }
    if (inSet) {
      throw new ScriptException("line " + setLine + ": STATEMENT SET is not closed with END");
    }
    return new Plan(initial, steps);
  }

  private static void addSet(Map<String, String> initial, List<Step> steps, String key, String value, int line) {
    if (key.isEmpty()) throw new ScriptException("line " + line + ": SET with an empty key");
    if (steps.isEmpty()) {
      initial.put(key, value);
    } else {
      steps.add(new Step(Kind.SET, null, key, value, line));
    }
  }

  private static String unquote(String s) {
    return s.replace("''", "'");
  }

  static String abbreviate(String sql) {
    String one = sql.replaceAll("\\s+", " ");
    return one.length() > 120 ? one.substring(0, 117) + "..." : one;
  }
}
