// Prints the configuration option catalogue of one Flink distribution as tab-separated lines.
//
// Usage: java -cp "<flink>/lib/*:<build dir>" OptionCatalogue <flink-dist jar> [more jars to scan...]
// It reflects over every static ConfigOption field of the org.apache.flink classes in the given jars
// (a class is read only when its constant pool names ConfigOption) and prints, sorted by key:
//   #flink-version  <version of the jar>
//   #java-opts      <env.java.opts.all of the distribution's default configuration file>
//   #sensitive      <comma-separated key fragments GlobalConfiguration treats as secrets>
//   #duration-iso8601  yes|no (whether durations may also be written as PT10S)
//   key  type  detail  status  replacement
// type: Boolean Integer Long Float Double String Duration MemorySize Enum<class> Map List<T> or a class name;
// detail: the enum constants (comma separated) or "-"; status: "ok", "deprecated" (the option field
// is @Deprecated), "fallback" or "deprecated-key" (an alternative key of the option named in
// replacement).
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

public class OptionCatalogue {
    private static final byte[] MARKER =
            "Lorg/apache/flink/configuration/ConfigOption;".getBytes(StandardCharsets.US_ASCII);

    record Row(String type, String detail, String status, String replacement) {}

    public static void main(String[] args) throws Exception {
        Map<String, Row> rows = new TreeMap<>();
        ClassLoader loader = OptionCatalogue.class.getClassLoader();
        Class<?> optionClass = Class.forName("org.apache.flink.configuration.ConfigOption", false, loader);
        for (String jarPath : args) {
            try (JarFile jar = new JarFile(jarPath)) {
                Enumeration<JarEntry> entries = jar.entries();
                while (entries.hasMoreElements()) {
                    JarEntry e = entries.nextElement();
                    String n = e.getName();
                    if (!n.startsWith("org/apache/flink/") || !n.endsWith(".class")
                            || n.contains("/shaded/")) {
                        continue;
                    }
                    byte[] bytes;
                    try (InputStream in = jar.getInputStream(e)) {
                        bytes = in.readAllBytes();
                    }
                    if (indexOf(bytes, MARKER) < 0) {
                        continue;
                    }
                    String cls = n.substring(0, n.length() - 6).replace('/', '.');
                    scan(cls, loader, optionClass, rows);
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("#flink-version\t").append(flinkVersion(loader)).append('\n');
        out.append("#java-opts\t").append(javaOpts(loader, args[0])).append('\n');
        out.append("#sensitive\t").append(sensitive(loader)).append('\n');
        out.append("#duration-iso8601\t").append(isoDurations(loader)).append('\n');
        for (Map.Entry<String, Row> r : rows.entrySet()) {
            Row v = r.getValue();
            if (!standalone(r.getKey())) {
                continue;
            }
            out.append(r.getKey()).append('\t').append(v.type).append('\t').append(v.detail)
                    .append('\t').append(v.status).append('\t').append(v.replacement).append('\n');
        }
        System.out.print(out);
    }

    static void scan(String cls, ClassLoader loader, Class<?> optionClass, Map<String, Row> rows) {
        Field[] fields;
        try {
            fields = Class.forName(cls, false, loader).getDeclaredFields();
        } catch (Throwable t) {
            return;
        }
        for (Field f : fields) {
            int m = f.getModifiers();
            if (!Modifier.isStatic(m) || !Modifier.isPublic(m) || !optionClass.isAssignableFrom(f.getType())) {
                continue;
            }
            try {
                f.setAccessible(true);
                Object opt = f.get(null);
                if (opt == null) {
                    continue;
                }
                record(opt, f.isAnnotationPresent(Deprecated.class), rows);
            } catch (Throwable t) {
                System.err.println("skipped " + cls + "." + f.getName() + ": " + t);
            }
        }
    }

    static void record(Object opt, boolean deprecated, Map<String, Row> rows) throws Exception {
        Class<?> c = opt.getClass();
        String key = (String) c.getMethod("key").invoke(opt);
        Method getClazz = c.getDeclaredMethod("getClazz");
        getClazz.setAccessible(true);
        Class<?> clazz = (Class<?>) getClazz.invoke(opt);
        Method isList = c.getDeclaredMethod("isList");
        isList.setAccessible(true);
        boolean list = (Boolean) isList.invoke(opt);
        String type = clazz.isEnum() ? "Enum<" + clazz.getName() + ">" : clazz.getName().replaceFirst("^.*\\.", "");
        String detail = "-";
        if (clazz.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object k : clazz.getEnumConstants()) {
                names.add(((Enum<?>) k).name());
            }
            detail = String.join(",", names);
        }
        if (list) {
            type = "List<" + type + ">";
        }
        put(rows, key, new Row(type, detail, deprecated ? "deprecated" : "ok", "-"));
        Iterable<?> fallbacks = (Iterable<?>) c.getMethod("fallbackKeys").invoke(opt);
        for (Object fb : fallbacks) {
            String fk = (String) fb.getClass().getMethod("getKey").invoke(fb);
            boolean dep = (Boolean) fb.getClass().getMethod("isDeprecated").invoke(fb);
            put(rows, fk, new Row(type, detail, dep ? "deprecated-key" : "fallback", key));
        }
    }

    // A key defined twice keeps its strongest meaning: its own option over a fallback of another.
    static void put(Map<String, Row> rows, String key, Row row) {
        Row old = rows.get(key);
        if (old == null || rank(row) < rank(old)) {
            rows.put(key, row);
        }
    }

    static int rank(Row r) {
        switch (r.status) {
            case "ok": return 0;
            case "deprecated": return 1;
            case "fallback": return 2;
            default: return 3;
        }
    }

    // Options whose key is relative to a named prefix (a metric reporter's "interval", a connector's
    // "format", "fields.#.kind") are not keys of the cluster configuration: they are left out.
    static boolean standalone(String key) {
        if (key.contains("<") || key.contains("#")) {
            return false;
        }
        return key.contains(".") || !RELATIVE.contains(key);
    }

    static final java.util.Set<String> RELATIVE = java.util.Set.of("enabled", "interval");

    static String flinkVersion(ClassLoader loader) {
        try {
            Class<?> ev = Class.forName("org.apache.flink.runtime.util.EnvironmentInformation", true, loader);
            return (String) ev.getMethod("getVersion").invoke(null);
        } catch (Throwable t) {
            return "unknown";
        }
    }

    // Reads the default configuration file shipped at the root of flink-dist with Flink's own loader.
    static String javaOpts(ClassLoader loader, String distJar) throws Exception {
        Path dir = Files.createTempDirectory("flink-options");
        try (JarFile jar = new JarFile(distJar)) {
            for (String name : new String[] {"config.yaml", "flink-conf.yaml"}) {
                JarEntry e = jar.getJarEntry(name);
                if (e != null) {
                    try (InputStream in = jar.getInputStream(e)) {
                        Files.write(dir.resolve(name), in.readAllBytes());
                    }
                    break;
                }
            }
        }
        Class<?> gc = Class.forName("org.apache.flink.configuration.GlobalConfiguration", true, loader);
        Object conf = gc.getMethod("loadConfiguration", String.class).invoke(null, dir.toString());
        Method toMap = conf.getClass().getMethod("toMap");
        @SuppressWarnings("unchecked")
        Map<String, String> map = (Map<String, String>) toMap.invoke(conf);
        String v = map.get("env.java.opts.all");
        return v == null ? "-" : v.trim();
    }

    // Whether this version's duration parser also reads ISO-8601 durations such as PT10S.
    static String isoDurations(ClassLoader loader) {
        try {
            Class<?> tu = Class.forName("org.apache.flink.util.TimeUtils", true, loader);
            tu.getMethod("parseDuration", String.class).invoke(null, "PT10S");
            return "yes";
        } catch (Throwable t) {
            return "no";
        }
    }

    static String sensitive(ClassLoader loader) {
        try {
            Class<?> gc = Class.forName("org.apache.flink.configuration.GlobalConfiguration", true, loader);
            Field f = gc.getDeclaredField("SENSITIVE_KEYS");
            f.setAccessible(true);
            Object v = f.get(null);
            if (v instanceof String[] a) {
                return String.join(",", a);
            }
            if (v instanceof Iterable<?> it) {
                List<String> s = new ArrayList<>();
                for (Object o : it) {
                    s.add(String.valueOf(o));
                }
                return String.join(",", s);
            }
            return String.valueOf(v);
        } catch (Throwable t) {
            return "-";
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
