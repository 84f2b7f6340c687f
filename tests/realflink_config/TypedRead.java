// Reads a configuration directory with Flink's own GlobalConfiguration and prints each requested key
// converted to its option type by Flink (stdin: "key<TAB>type[<TAB>enum class]" lines; stdout:
// "key<TAB>value" or "key<TAB>ERROR ..."). Durations print as nanoseconds, memory sizes as bytes,
// maps sorted. Used by tests/realflink_config to prove Flink reads rendered values as meant.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.TreeMap;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;

public class TypedRead {
    public static void main(String[] args) throws Exception {
        Configuration conf = GlobalConfiguration.loadConfiguration(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t");
            String value;
            try {
                value = read(conf, f);
            } catch (Throwable t) {
                value = "ERROR " + t;
            }
            System.out.println(f[0] + "\t" + value);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static String read(Configuration c, String[] f) throws Exception {
        ConfigOptions.OptionBuilder b = ConfigOptions.key(f[0]);
        switch (f[1]) {
            case "Boolean": return String.valueOf(c.get(b.booleanType().noDefaultValue()));
            case "Integer": return String.valueOf(c.get(b.intType().noDefaultValue()));
            case "Long": return String.valueOf(c.get(b.longType().noDefaultValue()));
            case "Double": return String.valueOf(c.get(b.doubleType().noDefaultValue()));
            case "Duration": return String.valueOf(c.get(b.durationType().noDefaultValue()).toNanos());
            case "MemorySize": return String.valueOf(c.get(b.memoryType().noDefaultValue()).getBytes());
            case "Map": return new TreeMap<>(c.get(b.mapType().noDefaultValue())).toString();
            case "Enum": {
                Class cls = Class.forName(f[2]);
                return ((Enum) c.get(b.enumType(cls).noDefaultValue())).name();
            }
            default: return c.get(b.stringType().noDefaultValue());
        }
    }
}
