//! From a pod's container spec to the shell script a pod runs in its own network and mount
//! namespaces: volumes bind-mounted at their mount paths over a private `/opt`, the Flink
//! distribution at `/opt/flink`, init containers run first, then the official image's entrypoint
//! conventions (`jobmanager`, `taskmanager`, `standalone-job ...`) turned into the Java command
//! Flink's launch scripts build: memory options from Flink's own `BashJavaUtils`, JVM options from
//! the mounted `config.yaml` (`env.java.default-opts.all`, `env.java.opts.all` and the
//! component's), `/opt/flink/lib` and `/opt/flink/usrlib` on the classpath.

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the official image keeps Flink.
pub const FLINK_HOME: &str = "/opt/flink";
const CONF_DIR: &str = "/opt/flink/conf";

/// Quotes a word for `sh`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Expands `$(VAR)` references in `text` from `env`, as the kubelet does for command and args;
/// `$$(VAR)` escapes, unknown references stay as written.
pub fn expand(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("$(") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at]);
            out.push('(');
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        match rest[at + 2..].find(')') {
            Some(end) => {
                let name = &rest[at + 2..at + 2 + end];
                match env.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[at..at + 3 + end]),
                }
                rest = &rest[at + 3 + end..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of a flat key in Flink's `config.yaml` as the provider renders it (`key: "value"`
/// or `key: value` per line).
pub fn config_value(config_yaml: &str, key: &str) -> Option<String> {
    config_yaml.lines().find_map(|line| {
        let line = line.trim_start();
        let (k, v) = line.split_once(": ")?;
        let k = k.trim_matches('"');
        (k == key).then(|| {
            let v = v.trim();
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
                None => v.to_string(),
            }
        })
    })
}

/// What the entrypoint's first argument starts.
struct Entry {
    class: &'static str,
    resources: &'static str,
    component: &'static str,
}

fn entry(first: &str) -> Option<Entry> {
    match first {
        "standalone-job" => Some(Entry {
            class: "org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint",
            resources: "GET_JM_RESOURCE_PARAMS",
            component: "jobmanager",
        }),
        "jobmanager" => Some(Entry {
            class: "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
            resources: "GET_JM_RESOURCE_PARAMS",
            component: "jobmanager",
        }),
        "taskmanager" => Some(Entry {
            class: "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            resources: "GET_TM_RESOURCE_PARAMS",
            component: "taskmanager",
        }),
        _ => None,
    }
}

/// A bind mount inside the pod: host directory or file, path, read-only.
pub struct Mount {
    pub source: String,
    pub path: String,
    pub read_only: bool,
}

/// The script of one pod: mounts, init commands, then the main container's Java command.
pub struct Script {
    pub text: String,
}

/// Everything one pod's script is made of.
pub struct Launch<'a> {
    /// The pod's hostname (its name).
    pub hostname: &'a str,
    /// The Flink distribution the image maps to.
    pub distribution: &'a Path,
    /// Volumes at their mount paths.
    pub mounts: &'a [Mount],
    /// Init containers' commands, in order.
    pub init_commands: &'a [Vec<String>],
    /// The main container's args, already expanded.
    pub args: &'a [String],
    /// The mounted `config.yaml`.
    pub config_yaml: &'a str,
    /// The hosts file Java resolves names with.
    pub hosts_file: &'a Path,
    /// Flink's log file inside the pod.
    pub log_file: &'a Path,
}

/// Builds the script. `Err` says why the container cannot start (an entrypoint this kubelet does
/// not know).
pub fn script(launch: &Launch) -> Result<Script, String> {
    let Launch {
        hostname,
        distribution,
        mounts,
        init_commands,
        args,
        config_yaml,
        hosts_file,
        log_file,
    } = launch;
    let first = args.first().map(String::as_str).unwrap_or_default();
    let entry = entry(first).ok_or_else(|| {
        format!(
            "the local kubelet runs the official Flink image's entrypoints (jobmanager, \
             taskmanager, standalone-job), not {first:?}"
        )
    })?;
    let mut s = format!(
        "set -e\nhostname {}\nmount -t tmpfs tmpfs /opt\n",
        quote(hostname)
    );
    for (dir, sub) in [("lib", "lib"), ("bin", "bin"), ("opt", "opt")] {
        let source = distribution.join(sub);
        if source.exists() {
            s.push_str(&format!(
                "mkdir -p {home}/{dir}\nmount --bind {} {home}/{dir}\n",
                quote(&source.display().to_string()),
                home = FLINK_HOME
            ));
        }
    }
    s.push_str(&format!(
        "mkdir -p {FLINK_HOME}/log {FLINK_HOME}/usrlib {CONF_DIR}\n"
    ));
    for m in mounts.iter() {
        let path = quote(&m.path);
        s.push_str(&format!(
            "mkdir -p {path}\nmount --bind {} {path}\n",
            quote(&m.source)
        ));
        if m.read_only {
            s.push_str(&format!("mount -o remount,bind,ro {path}\n"));
        }
    }
    s.push_str(&format!("cd {FLINK_HOME}\n"));
    for command in init_commands.iter() {
        let words: Vec<String> = command.iter().map(|w| quote(w)).collect();
        s.push_str(&format!("{}\n", words.join(" ")));
    }
    let mut jvm_options = Vec::new();
    for key in [
        "env.java.default-opts.all".to_string(),
        "env.java.opts.all".to_string(),
        format!("env.java.opts.{}", entry.component),
        "env.java.opts".to_string(),
    ] {
        if let Some(v) = config_value(config_yaml, &key) {
            jvm_options.push(v);
        }
    }
    let dynamic: Vec<String> = args[1..]
        .iter()
        .filter(|a| a.starts_with("-D"))
        .map(|a| quote(a))
        .collect();
    let program: Vec<String> = args[1..].iter().map(|a| quote(a)).collect();
    s.push_str(&format!(
        "utils=$(java -cp \"{FLINK_HOME}/bin/bash-java-utils.jar:{FLINK_HOME}/lib/*\" \
         org.apache.flink.runtime.util.bash.BashJavaUtils {} --configDir {CONF_DIR} {} \
         | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://')\n",
        entry.resources,
        dynamic.join(" ")
    ));
    s.push_str("memory_jvm=$(echo \"$utils\" | sed -n 1p)\nmemory_dynamic=$(echo \"$utils\" | sed -n 2p)\n");
    s.push_str(&format!(
        "exec java $memory_jvm {} -Dlog.file={} -Dlog4j.configurationFile=file:{CONF_DIR}/log4j-console.properties \
         -Djdk.net.hosts.file={} -cp \"{FLINK_HOME}/lib/*:{FLINK_HOME}/usrlib/*\" {} --configDir {CONF_DIR} {} $memory_dynamic\n",
        jvm_options.join(" "),
        quote(&log_file.display().to_string()),
        quote(&hosts_file.display().to_string()),
        entry.class,
        program.join(" ")
    ));
    Ok(Script { text: s })
}

/// The commands of a pod's init containers (command then args), in order.
pub fn init_commands(spec: &Json, env: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    spec["initContainers"]
        .as_array()
        .map(|containers| {
            containers
                .iter()
                .map(|c| {
                    c["command"]
                        .as_array()
                        .into_iter()
                        .chain(c["args"].as_array())
                        .flatten()
                        .filter_map(Json::as_str)
                        .map(|w| expand(w, env))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_references_like_the_kubelet() {
        let env: BTreeMap<String, String> = [("PASS".to_string(), "s3cr3t".to_string())].into();
        assert_eq!(expand("-Dx=$(PASS)", &env), "-Dx=s3cr3t");
        assert_eq!(
            expand("$(MISSING) and $$(PASS)", &env),
            "$(MISSING) and $(PASS)"
        );
        assert_eq!(expand("plain", &env), "plain");
    }

    #[test]
    fn reads_flat_config_values() {
        let yaml = "# c\nenv.java.opts.all: \"--add-opens=a \\\"q\\\"\"\nrest.port: 8081\n";
        assert_eq!(
            config_value(yaml, "env.java.opts.all").as_deref(),
            Some("--add-opens=a \"q\"")
        );
        assert_eq!(config_value(yaml, "rest.port").as_deref(), Some("8081"));
        assert_eq!(config_value(yaml, "nope"), None);
    }

    #[test]
    fn unknown_entrypoints_are_refused() {
        let err = script(&Launch {
            hostname: "pod",
            distribution: Path::new("/d"),
            mounts: &[],
            init_commands: &[],
            args: &["sleep".into()],
            config_yaml: "",
            hosts_file: Path::new("/h"),
            log_file: Path::new("/l"),
        })
        .err()
        .unwrap();
        assert!(err.contains("standalone-job"), "{err}");
    }
}
