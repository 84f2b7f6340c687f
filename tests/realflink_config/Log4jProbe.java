import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Logs one line through log4j as -Dlog4j.configurationFile configures it, with the classpath of a
 * Flink release's lib/: whether a user's layout loads with the jars the image has.
 */
public class Log4jProbe {
    public static void main(String[] args) {
        Logger logger = LogManager.getLogger("org.apache.flink.runtime.entrypoint.ClusterEntrypoint");
        logger.info("probe {}", args.length > 0 ? args[0] : "line");
        LogManager.shutdown();
    }
}
