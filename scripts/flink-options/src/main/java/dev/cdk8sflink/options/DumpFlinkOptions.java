package dev.cdk8sflink.options;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Finds every static {@code org.apache.flink.configuration.ConfigOption} field in the classes of
 * the given Flink jars and prints them as JSON, sorted by key and deduplicated.
 *
 * <p>Flink must be on this JVM's classpath (all jars, including transitive dependencies, so that
 * the option classes can be initialised). Only the jars passed with {@code --scan} are searched.
 * Everything Flink-specific is accessed reflectively, so one build works for Flink 1.x and 2.x.
 *
 * <pre>
 * java -cp dumper.jar:FLINK_CLASSPATH dev.cdk8sflink.options.DumpFlinkOptions \
 *   --flink-version 1.20.3 --artifact org.apache.flink:flink-core:1.20.3 ... \
 *   --scan /path/flink-core-1.20.3.jar ... [--scan-list file] --out catalog.json
 * </pre>
 */
public final class DumpFlinkOptions {

    private static final String CONFIG_OPTION = "org.apache.flink.configuration.ConfigOption";
    private static final byte[] DESCRIPTOR_MARKER =
            ("L" + CONFIG_OPTION.replace('.', '/') + ";").getBytes(StandardCharsets.UTF_8);
    private static final long INIT_TIMEOUT_SECONDS = 20;

    /** One static ConfigOption field. */
    private static final class Rec {
        String key; // effective key: suffix options are prefixed with their documented prefix
        String rawKey;
        String suffixOf;
        String scope;
        String type;
        String defaultValue; // null = no default
        List<String> enumValues; // null unless an enum type
        List<String> deprecatedKeys;
        List<String> fallbackKeys;
        boolean deprecated;
        boolean excludedFromDocs;
        boolean isPublic;
        String docDefault;
        String description;
        String source;
    }

    private final ClassLoader loader = DumpFlinkOptions.class.getClassLoader();
    private final Class<?> configOptionClass;
    private final List<Rec> records = new ArrayList<>();
    private boolean allDescriptions;
    private final PrintStream log = System.err;
    private ExecutorService initExecutor = newExecutor();
    private int classesSeen, candidates, loadFailures, classesWithOptions;
    private final List<String> failed = new ArrayList<>();

    private DumpFlinkOptions() throws ClassNotFoundException {
        configOptionClass = Class.forName(CONFIG_OPTION, false, loader);
    }

    public static void main(String[] args) throws Exception {
        String version = null;
        String out = null;
        String failuresOut = null;
        boolean allDescriptions = false;
        Map<String, String> embed = new TreeMap<>();
        List<String> artifacts = new ArrayList<>();
        List<String> scan = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--flink-version":
                    version = args[++i];
                    break;
                case "--artifact":
                    artifacts.add(args[++i]);
                    break;
                case "--scan":
                    scan.add(args[++i]);
                    break;
                case "--scan-list":
                    for (String line : Files.readAllLines(Paths.get(args[++i]))) {
                        if (!line.isBlank()) {
                            scan.add(line.trim());
                        }
                    }
                    break;
                case "--embed": // name=FILE: FILE's JSON becomes top-level field "name"
                    String[] kv = args[++i].split("=", 2);
                    embed.put(kv[0], Files.readString(Paths.get(kv[1])).trim());
                    break;
                case "--all-descriptions":
                    allDescriptions = true;
                    break;
                case "--failures":
                    failuresOut = args[++i];
                    break;
                case "--out":
                    out = args[++i];
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (version == null || scan.isEmpty()) {
            System.err.println(
                    "usage: DumpFlinkOptions --flink-version V [--artifact G:A:V]... "
                            + "(--scan JAR | --scan-list FILE)... [--out FILE] [--failures FILE] [--embed NAME=JSONFILE] [--all-descriptions]");
            System.exit(2);
        }
        Collections.sort(scan);
        DumpFlinkOptions d = new DumpFlinkOptions();
        d.allDescriptions = allDescriptions;
        for (String jar : scan) {
            d.scanJar(Paths.get(jar));
        }
        d.initExecutor.shutdownNow();
        String json = d.toJson(version, artifacts, embed);
        if (out == null) {
            System.out.print(json);
        } else {
            Files.write(Paths.get(out), json.getBytes(StandardCharsets.UTF_8));
        }
        if (failuresOut != null) {
            Collections.sort(d.failed);
            Files.write(Paths.get(failuresOut), d.failed, StandardCharsets.UTF_8);
        }
        d.log.printf(
                "flink %s: %d classes in %d jars, %d candidates, %d with ConfigOption fields,"
                        + " %d failed to load/initialise, %d ConfigOption fields%n",
                version, d.classesSeen, scan.size(), d.candidates, d.classesWithOptions,
                d.loadFailures, d.records.size());
        System.exit(0); // option classes may have started non-daemon threads
    }

    private static ExecutorService newExecutor() {
        return Executors.newSingleThreadExecutor(
                r -> {
                    Thread t = new Thread(r, "class-init");
                    t.setDaemon(true);
                    return t;
                });
    }

    private void scanJar(Path jar) throws IOException {
        List<String> names = new ArrayList<>();
        try (JarFile jf = new JarFile(jar.toFile())) {
            Enumeration<JarEntry> en = jf.entries();
            while (en.hasMoreElements()) {
                JarEntry e = en.nextElement();
                String n = e.getName();
                if (!n.endsWith(".class")
                        || !n.startsWith("org/apache/flink/")
                        || n.contains("/shaded/")
                        || n.endsWith("module-info.class")
                        || n.endsWith("package-info.class")) {
                    continue;
                }
                classesSeen++;
                byte[] bytes;
                try (InputStream in = jf.getInputStream(e)) {
                    bytes = in.readAllBytes();
                }
                // Cheap pre-filter: a class with a ConfigOption field has the descriptor in its
                // constant pool. Avoids loading the thousands of classes that cannot match.
                if (indexOf(bytes, DESCRIPTOR_MARKER) >= 0) {
                    names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                }
            }
        }
        Collections.sort(names);
        for (String name : names) {
            candidates++;
            inspect(name);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void inspect(String className) {
        List<Field> fields = new ArrayList<>();
        Class<?> cls;
        try {
            cls = Class.forName(className, false, loader);
            for (Field f : cls.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == configOptionClass) {
                    fields.add(f);
                }
            }
        } catch (Throwable t) {
            loadFailures++;
            failed.add(className + ": " + t);
            return;
        }
        if (fields.isEmpty()) {
            return;
        }
        // Initialise the class (runs its static initialiser) on a watchdog thread.
        final Class<?> c = cls;
        Future<?> init =
                initExecutor.submit(
                        () -> {
                            Class.forName(c.getName(), true, loader);
                            return null;
                        });
        try {
            init.get(INIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException te) {
            initExecutor.shutdownNow();
            initExecutor = newExecutor();
            loadFailures++;
            failed.add(className + ": static initialiser timed out");
            return;
        } catch (Throwable t) {
            loadFailures++;
            failed.add(className + ": " + (t.getCause() != null ? t.getCause() : t));
            return;
        }
        classesWithOptions++;
        boolean classDeprecated = cls.isAnnotationPresent(Deprecated.class);
        fields.sort((a, b) -> a.getName().compareTo(b.getName()));
        for (Field f : fields) {
            try {
                f.setAccessible(true);
                Object opt = f.get(null);
                if (opt != null) {
                    record(cls, f, opt, classDeprecated);
                }
            } catch (Throwable t) {
                failed.add(className + "." + f.getName() + ": " + t);
            }
        }
    }

    private void record(Class<?> owner, Field field, Object opt, boolean classDeprecated)
            throws Exception {
        String key = (String) call(opt, "key");
        Class<?> clazz = (Class<?>) getField(opt, "clazz");
        boolean isList = (Boolean) getField(opt, "isList");
        boolean hasDefault = (Boolean) call(opt, "hasDefaultValue");
        Object def = hasDefault ? call(opt, "defaultValue") : null;

        String type = typeName(clazz);
        if (isList) {
            type = "List<" + type + ">";
        }
        String defStr = def == null ? null : valueToString(def);

        List<String> deprecatedKeys = new ArrayList<>();
        List<String> fallbackKeys = new ArrayList<>();
        for (Object fk : (Iterable<?>) call(opt, "fallbackKeys")) {
            String k = (String) call(fk, "getKey");
            if ((Boolean) call(fk, "isDeprecated")) {
                deprecatedKeys.add(k);
            } else {
                fallbackKeys.add(k);
            }
        }

        String docDefault = null;
        String suffixOf = null;
        boolean excluded = false;
        for (Annotation a : field.getAnnotations()) {
            String an = a.annotationType().getName();
            if (an.endsWith("Documentation$OverrideDefault")) {
                docDefault = String.valueOf(call(a, "value"));
            } else if (an.endsWith("Documentation$SuffixOption")) {
                suffixOf = String.valueOf(call(a, "value"));
            } else if (an.endsWith("Documentation$ExcludeFromDocumentation")) {
                excluded = true;
            }
        }
        String ownerName = owner.getName();
        // Reporter-specific options (e.g. the Prometheus push gateway's) are read from the
        // reporter's own section: metrics.reporter.<name>.<key>.
        if (suffixOf == null && ownerName.startsWith("org.apache.flink.metrics.")) {
            suffixOf = "metrics.reporter.<name>";
        }
        // A few reporter options lack the annotation (e.g. the deprecated MetricOptions#REPORTER_CLASS).
        if (suffixOf == null && !key.contains(".")) {
            switch (ownerName) {
                case "org.apache.flink.configuration.MetricOptions":
                    suffixOf = "metrics.reporter.<name>";
                    break;
                case "org.apache.flink.configuration.TraceOptions":
                    suffixOf = "traces.reporter.<name>";
                    break;
                case "org.apache.flink.configuration.EventOptions":
                    suffixOf = "events.reporter.<name>";
                    break;
                default:
                    break;
            }
        }

        Rec r = new Rec();
        r.rawKey = key;
        r.suffixOf = suffixOf;
        r.key = suffixOf == null ? key : suffixOf + "." + key;
        r.scope = scope(ownerName, key, suffixOf);
        r.type = type;
        r.defaultValue = defStr;
        if (clazz.isEnum()) {
            r.enumValues = new ArrayList<>();
            for (Object ec : clazz.getEnumConstants()) {
                r.enumValues.add(((Enum<?>) ec).name());
            }
        }
        r.deprecatedKeys = prefixed(suffixOf, deprecatedKeys);
        r.fallbackKeys = prefixed(suffixOf, fallbackKeys);
        r.description = describe(opt);
        r.deprecated = classDeprecated || field.isAnnotationPresent(Deprecated.class);
        r.excludedFromDocs = excluded;
        r.isPublic = Modifier.isPublic(field.getModifiers()) && Modifier.isPublic(owner.getModifiers());
        r.docDefault = docDefault;
        r.source = ownerName + "#" + field.getName();
        records.add(r);
    }

    private static List<String> prefixed(String prefix, List<String> keys) {
        if (prefix == null) {
            return keys;
        }
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            out.add(prefix + "." + k);
        }
        return out;
    }

    /** The option's description as plain text (via Flink's own HtmlFormatter), or null. */
    private String describe(Object opt) {
        try {
            Object description = call(opt, "description");
            Class<?> fmt =
                    Class.forName(
                            "org.apache.flink.configuration.description.HtmlFormatter", true, loader);
            Object formatter = fmt.getDeclaredConstructor().newInstance();
            Method format = null;
            for (Method m : fmt.getMethods()) {
                if (m.getName().equals("format")
                        && m.getParameterCount() == 1
                        && m.getParameterTypes()[0].isInstance(description)) {
                    format = m;
                }
            }
            String html = (String) format.invoke(formatter, description);
            String text =
                    html.replaceAll("<br\\s*/?>", " ")
                            .replaceAll("<li>", " - ")
                            .replaceAll("<[^>]+>", "")
                            .replace("&quot;", "\"")
                            .replace("&#39;", "'")
                            .replace("&lt;", "<")
                            .replace("&gt;", ">")
                            .replace("&amp;", "&")
                            .replaceAll("\\s+", " ")
                            .trim();
            return text.isEmpty() ? null : text;
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * Where a key is meant to be set.
     *
     * <ul>
     *   <li>cluster: a key of the Flink configuration (config.yaml / -D / job configuration);
     *   <li>dynamic: a key with a user-chosen segment, e.g. metrics.reporter.&lt;name&gt;.factory.class;
     *   <li>connector: an option of a table connector / format / catalog / module / SQL hint (WITH
     *       clause), or of a DataStream connector, not of the cluster configuration;
     *   <li>internal: set by Flink itself ($internal.* keys, per-operator StreamConfig).
     * </ul>
     */
    private static String scope(String owner, String key, String suffixOf) {
        if (suffixOf != null) {
            return "dynamic";
        }
        if (key.startsWith("$internal") || owner.equals("org.apache.flink.streaming.api.graph.StreamConfig")) {
            return "internal";
        }
        String[] connectorPackages = {
            "org.apache.flink.connector.", "org.apache.flink.formats.",
            "org.apache.flink.table.catalog.", "org.apache.flink.table.factories.",
            "org.apache.flink.table.module.", "org.apache.flink.table.sinks.",
            "org.apache.flink.table.sources.", "org.apache.flink.table.connector."
        };
        for (String p : connectorPackages) {
            if (owner.startsWith(p)) {
                return "connector";
            }
        }
        // SQL hint options (LOOKUP / ML_PREDICT / VECTOR_SEARCH hints) have keys without a dot.
        if (owner.startsWith("org.apache.flink.table.") && !key.contains(".")) {
            return "connector";
        }
        return "cluster";
    }

    private static String typeName(Class<?> c) {
        if (Map.class.isAssignableFrom(c)) {
            return "Map";
        }
        String n = c.getName();
        return n.substring(n.lastIndexOf('.') + 1).replace('$', '.');
    }

    /** Default value rendered as Flink renders it in its docs / config files. */
    private String valueToString(Object v) {
        try {
            Class<?> cu = Class.forName("org.apache.flink.configuration.ConfigurationUtils", true, loader);
            for (Method m : cu.getDeclaredMethods()) {
                if (!m.getName().equals("convertToString")) {
                    continue;
                }
                m.setAccessible(true);
                if (m.getParameterCount() == 1) {
                    return (String) m.invoke(null, v); // Flink 2.x
                }
                if (m.getParameterCount() == 2 && m.getParameterTypes()[1] == boolean.class) {
                    return (String) m.invoke(null, v, true); // Flink 1.19/1.20, standard YAML
                }
            }
        } catch (Throwable ignored) {
            // fall through
        }
        if (v instanceof Enum) {
            return ((Enum<?>) v).name();
        }
        return String.valueOf(v);
    }

    private static Object call(Object target, String method) throws Exception {
        Class<?> c = target.getClass();
        Method m = null;
        for (Class<?> k = c; k != null && m == null; k = k.getSuperclass()) {
            try {
                m = k.getDeclaredMethod(method);
            } catch (NoSuchMethodException ignored) {
                // try superclass
            }
        }
        if (m == null) {
            // annotations are proxies: look on their interfaces
            for (Class<?> i : c.getInterfaces()) {
                try {
                    m = i.getMethod(method);
                    break;
                } catch (NoSuchMethodException ignored) {
                    // next
                }
            }
        }
        if (m == null) {
            throw new NoSuchMethodException(c.getName() + "." + method);
        }
        m.setAccessible(true);
        return m.invoke(target);
    }

    private static Object getField(Object target, String name) throws Exception {
        for (Class<?> k = target.getClass(); k != null; k = k.getSuperclass()) {
            try {
                Field f = k.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(target);
            } catch (NoSuchFieldException ignored) {
                // try superclass
            }
        }
        throw new NoSuchFieldException(name);
    }

    // ---------------------------------------------------------------- JSON

    private String toJson(String version, List<String> artifacts, Map<String, String> embed) {
        // Group the fields by effective key; a non-deprecated declaration describes the option.
        Map<String, List<Rec>> byKey = new TreeMap<>();
        for (Rec r : records) {
            byKey.computeIfAbsent(r.key, k -> new ArrayList<>()).add(r);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("{\n\"flinkVersion\": ").append(str(version)).append(",\n");
        sb.append("\"artifacts\": ").append(arr(artifacts)).append(",\n");
        for (Map.Entry<String, String> e : embed.entrySet()) {
            sb.append(str(e.getKey())).append(": ").append(e.getValue()).append(",\n");
        }
        sb.append("\"optionCount\": ").append(byKey.size()).append(",\n");
        sb.append("\"options\": [\n");
        boolean first = true;
        for (List<Rec> group : byKey.values()) {
            group.sort(
                    (x, y) ->
                            x.deprecated != y.deprecated
                                    ? (x.deprecated ? 1 : -1)
                                    : x.source.compareTo(y.source));
            Rec o = group.get(0);
            LinkedHashSet<String> deprecatedKeys = new LinkedHashSet<>();
            LinkedHashSet<String> fallbackKeys = new LinkedHashSet<>();
            TreeSet<String> sources = new TreeSet<>();
            TreeSet<String> conflicts = new TreeSet<>();
            boolean allDeprecated = true, allExcluded = true, anyPublic = false;
            String docDefault = null;
            String description = null;
            for (Rec r : group) {
                if (description == null) {
                    description = r.description;
                }
                deprecatedKeys.addAll(r.deprecatedKeys);
                fallbackKeys.addAll(r.fallbackKeys);
                sources.add(r.source);
                allDeprecated &= r.deprecated;
                allExcluded &= r.excludedFromDocs;
                anyPublic |= r.isPublic;
                if (docDefault == null) {
                    docDefault = r.docDefault;
                }
                if (!r.type.equals(o.type) || !java.util.Objects.equals(r.defaultValue, o.defaultValue)) {
                    conflicts.add(r.source + ": " + r.type + " default " + r.defaultValue);
                }
            }
            if (!first) {
                sb.append(",\n");
            }
            first = false;
            sb.append("{\"key\":").append(str(o.key));
            sb.append(",\"scope\":").append(str(o.scope));
            sb.append(",\"type\":").append(str(o.type));
            sb.append(",\"default\":").append(o.defaultValue == null ? "null" : str(o.defaultValue));
            sb.append(",\"deprecatedKeys\":").append(arr(deprecatedKeys));
            sb.append(",\"fallbackKeys\":").append(arr(fallbackKeys));
            if (o.enumValues != null) {
                sb.append(",\"enumValues\":").append(arr(o.enumValues));
            }
            if (allDeprecated) {
                sb.append(",\"deprecated\":true");
            }
            if (docDefault != null) {
                sb.append(",\"docDefault\":").append(str(docDefault));
            }
            if (o.suffixOf != null) {
                sb.append(",\"suffixOf\":").append(str(o.suffixOf));
            }
            if (allExcluded) {
                sb.append(",\"undocumented\":true");
            }
            if (!anyPublic) {
                sb.append(",\"nonPublic\":true");
            }
            if (!conflicts.isEmpty()) {
                sb.append(",\"otherDeclarations\":").append(arr(conflicts));
            }
            // By default descriptions only where they say how an option is deprecated / replaced.
            if (description != null
                    && (allDescriptions
                            || allDeprecated || description.toLowerCase().contains("deprecated"))) {
                sb.append(",\"description\":").append(str(description));
            }
            sb.append(",\"sources\":").append(arr(sources));
            sb.append('}');
        }
        sb.append("\n]\n}\n");
        return sb.toString();
    }

    private static String arr(Iterable<String> items) {
        StringBuilder sb = new StringBuilder("[");
        boolean first = true;
        for (String s : items) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(str(s));
        }
        return sb.append(']').toString();
    }

    private static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                default:
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
            }
        }
        return sb.append('"').toString();
    }

}
