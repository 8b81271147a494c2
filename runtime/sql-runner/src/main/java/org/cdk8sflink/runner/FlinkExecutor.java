package org.cdk8sflink.runner;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link SqlScript.Plan} on Flink. Only Table API calls that exist unchanged in Flink 1.20
 * and 2.x are used: EnvironmentSettings.newInstance().withConfiguration(..).inStreamingMode(),
 * TableEnvironment.create, TableConfig.set(String, String), executeSql, createStatementSet,
 * addInsertSql, execute.
 */
final class FlinkExecutor {

  private static final Logger LOG = LoggerFactory.getLogger(FlinkExecutor.class);

  private FlinkExecutor() {}

  static void run(SqlScript.Plan plan, Path file) {
    // No default pipeline.name here: settings would override the cluster's configuration, where
    // the toolkit sets the job's name.
    Map<String, String> initial = new LinkedHashMap<>(plan.initialConfig);
    EnvironmentSettings.Builder builder =
        EnvironmentSettings.newInstance().withConfiguration(Configuration.fromMap(initial));
    if (!initial.containsKey("execution.runtime-mode")) builder.inStreamingMode();
    TableEnvironment tEnv = TableEnvironment.create(builder.build());
    initial.forEach((k, v) -> LOG.info("SQL runner: {} = {}", k, v));

    StatementSet set = tEnv.createStatementSet();
    for (SqlScript.Step step : plan.steps) {
      try {
        switch (step.kind) {
          case SET:
            LOG.info("SQL runner: line {}: SET {} = {}", step.line, step.key, step.value);
            tEnv.getConfig().set(step.key, step.value);
            break;
          case EXECUTE:
            LOG.info("SQL runner: line {}: executing {}", step.line, SqlScript.abbreviate(step.sql));
            TableResult r = tEnv.executeSql(step.sql);
            if (printsResult(step.sql)) r.print();
            break;
          case INSERT:
            LOG.info("SQL runner: line {}: adding to the statement set: {}", step.line,
                SqlScript.abbreviate(step.sql));
            set.addInsertSql(step.sql);
            break;
          default:
            throw new IllegalStateException("unknown step " + step.kind);
        }
      } catch (RuntimeException e) {
        throw new IllegalStateException("SQL script " + file + ", line " + step.line + ": "
            + firstLine(e.getMessage()) + "\n  in: " + SqlScript.abbreviate(step.sql == null ? step.toString() : step.sql), e);
      }
    }
    LOG.info("SQL runner: executing {} INSERT statement(s) as one job", plan.insertCount());
    TableResult result = set.execute();
    String jobId = result.getJobClient().map(c -> c.getJobID().toString()).orElse("(unknown)");
    LOG.info("SQL runner: submitted job {}", jobId);
    System.out.println("cdk8s-flink SQL runner: submitted job " + jobId + " with " + plan.insertCount()
        + " INSERT statement(s) from " + file);
  }

  private static boolean printsResult(String sql) {
    String u = sql.trim().toUpperCase(Locale.ROOT);
    return u.startsWith("SHOW") || u.startsWith("DESCRIBE") || u.startsWith("DESC ") || u.startsWith("EXPLAIN");
  }

  private static String firstLine(String s) {
    if (s == null) return "failed";
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
