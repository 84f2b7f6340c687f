// Flink's own parser of `standalone-job`'s arguments (the one StandaloneApplicationClusterEntryPoint
// runs), printing what it makes of the arguments it is given. In Flink's package: the parsed
// configuration class is package-private.
package org.apache.flink.container.entrypoint;

import org.apache.flink.runtime.entrypoint.parser.CommandLineParser;

public class ParseEntrypointArgs {
    public static void main(String[] args) throws Exception {
        StandaloneApplicationClusterConfiguration parsed =
                new CommandLineParser<>(new StandaloneApplicationClusterConfigurationParserFactory())
                        .parse(args);
        String[] jars = parsed.getJars() == null ? new String[0] : parsed.getJars();
        System.out.println("jars=" + String.join("|", jars));
        System.out.println("class=" + parsed.getJobClassName());
        System.out.println("args=" + String.join("|", parsed.getArgs()));
    }
}
