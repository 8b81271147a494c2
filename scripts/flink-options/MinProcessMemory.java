import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;

/**
 * Asks Flink's own memory model (JobManagerProcessUtils / TaskExecutorProcessUtils) for the
 * smallest jobmanager.memory.process.size and taskmanager.memory.process.size (whole MiB) it
 * accepts when every other memory option keeps its default. Prints one JSON object.
 *
 * <pre>java -cp FLINK_CLASSPATH scripts/flink-options/MinProcessMemory.java VERSION</pre>
 */
public class MinProcessMemory {

    private static Object jobManagerSpec(Configuration c) throws Throwable {
        try {
            for (Method m : JobManagerProcessUtils.class.getMethods()) {
                // 1.x: the variant used by the native Kubernetes / YARN deployers
                if (m.getName().equals("processSpecFromConfigWithNewOptionToInterpretLegacyHeap")) {
                    return m.invoke(null, c, JobManagerOptions.TOTAL_PROCESS_MEMORY);
                }
            }
            return JobManagerProcessUtils.class
                    .getMethod("processSpecFromConfig", Configuration.class)
                    .invoke(null, c); // 2.x
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static String spec(boolean jm, long mib) {
        Configuration c = new Configuration();
        try {
            if (jm) {
                c.set(JobManagerOptions.TOTAL_PROCESS_MEMORY, MemorySize.ofMebiBytes(mib));
                return String.valueOf(jobManagerSpec(c));
            }
            c.set(TaskManagerOptions.TOTAL_PROCESS_MEMORY, MemorySize.ofMebiBytes(mib));
            return String.valueOf(TaskExecutorProcessUtils.processSpecFromConfig(c));
        } catch (Throwable t) {
            return "ERROR " + t.getMessage();
        }
    }

    private static long smallest(boolean jm, long from) {
        long mib = from;
        while (spec(jm, mib).startsWith("ERROR")) {
            mib++;
        }
        return mib;
    }

    private static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    public static void main(String[] args) {
        String version = args.length > 0 ? args[0] : "?";
        long jm = smallest(true, 1);
        long tm = smallest(false, 1);
        // JobManager heap below 128 MiB is accepted but logged as below the recommended minimum.
        long jmRecommended = jm;
        while (true) {
            String s = spec(true, jmRecommended);
            if (s.matches(".*jvmHeapSize=(\\d+\\.\\d+)mb.*")
                    && Double.parseDouble(s.replaceAll(".*jvmHeapSize=(\\d+\\.\\d+)mb.*", "$1")) >= 128.0) {
                break;
            }
            jmRecommended++;
        }
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"flinkVersion\":").append(q(version));
        sb.append(",\"jobmanagerMinProcessMiB\":").append(jm);
        sb.append(",\"jobmanagerMinProcessSpec\":").append(q(spec(true, jm)));
        sb.append(",\"jobmanagerRejectedBelow\":").append(q(spec(true, jm - 1)));
        sb.append(",\"jobmanagerMinProcessMiBWithRecommendedHeap128\":").append(jmRecommended);
        sb.append(",\"taskmanagerMinProcessMiB\":").append(tm);
        sb.append(",\"taskmanagerMinProcessSpec\":").append(q(spec(false, tm)));
        sb.append(",\"taskmanagerRejectedBelow\":").append(q(spec(false, tm - 1)));
        sb.append("}");
        System.out.println(sb);
    }
}
