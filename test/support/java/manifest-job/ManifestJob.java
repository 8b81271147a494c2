package org.cdk8sflink.testjob;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A job whose jar names it in its manifest (Main-Class), for the jar URI tests: it runs until
 * cancelled, about ten records a second, and takes its job name from its first argument so a
 * test sees that the arguments reached it.
 */
public final class ManifestJob {
  private ManifestJob() {}

  public static void main(String[] args) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.fromSequence(0, Long.MAX_VALUE).map(new Slow()).filter(new None()).print();
    env.execute(args.length > 0 ? args[0] : "manifest-job");
  }

  /** Passes each record on after 100 ms, so the source does not spin. */
  public static final class Slow implements MapFunction<Long, Long> {
    @Override
    public Long map(Long value) throws Exception {
      Thread.sleep(100);
      return value;
    }
  }

  /** Drops every record: the job has a sink but prints nothing. */
  public static final class None implements FilterFunction<Long> {
    @Override
    public boolean filter(Long value) {
      return false;
    }
  }
}
