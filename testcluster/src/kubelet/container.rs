//! From a pod's container spec to the shell script a pod runs in its own network and mount
//! namespaces: volumes bind-mounted at their mount paths over a private `/opt`, the pod's hosts
//! file at `/etc/hosts`, the Flink distribution at `/opt/flink` (the script of a container run by
//! its command, an init container or a sidecar, has its volumes and its command), then the
//! official image's entrypoint
//! conventions (`jobmanager`, `taskmanager`, `standalone-job ...`) turned into the Java command
//! Flink's launch scripts build: memory options from Flink's own `BashJavaUtils`, JVM options from
//! the mounted `config.yaml` (`env.java.default-opts.all`, `env.java.opts.all` and the
//! component's), `/opt/flink/lib` and `/opt/flink/usrlib` on the classpath.

use super::security::Security;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the official image keeps Flink.
pub const FLINK_HOME: &str = "/opt/flink";
const CONF_DIR: &str = "/opt/flink/conf";
/// Where Kubernetes mounts ServiceAccount tokens, outside the image's private `/opt`.
const SECRETS_DIR: &str = "/var/run/secrets";

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

/// The script of a pod's Flink container: its mounts, then the Java command.
pub struct Script {
    pub text: String,
}

/// Everything one pod's script is made of.
pub struct Launch<'a> {
    /// The pod's hostname (its name).
    pub hostname: &'a str,
    /// The Flink distribution the image maps to.
    pub distribution: &'a Path,
    /// A custom image's added files, laid over its filesystem ([`super::image::CustomImage`]).
    pub overlay: Option<&'a Path>,
    /// Volumes at their mount paths.
    pub mounts: &'a [Mount],
    /// The main container's args, already expanded.
    pub args: &'a [String],
    /// The mounted `config.yaml`.
    pub config_yaml: &'a str,
    /// Whether the configuration directory is writable (not a ConfigMap or Secret volume).
    pub config_writable: bool,
    /// What the image's entrypoint writes into the configuration ([`entrypoint_settings`]).
    pub entrypoint_settings: &'a [(String, String)],
    /// The hosts file Java resolves names with (the pod's `/etc/hosts`).
    pub hosts_file: &'a Path,
    /// Who the container runs as, and how.
    pub security: &'a Security,
    /// Flink's log file inside the pod.
    pub log_file: &'a Path,
    /// The jars the image has in `opt/` ([`super::image::opt_jars`]).
    pub opt_jars: &'a [String],
    /// The plugins the image ships in `plugins/`, as (directory, jar) ([`super::image::plugins`]).
    pub plugins: &'a [(String, String)],
}

/// The official image's user `flink` (`USER`-less, it is what the entrypoint steps down to).
const FLINK_UID: u32 = 9999;

/// An empty zip archive (its end-of-central-directory record alone), as `printf` writes it: a jar
/// with nothing in it, standing for a plugin jar this machine does not have.
const EMPTY_JAR: &str = "PK\\005\\006\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000";

/// The start of every container's script: `set -e`, the pod's hostname, a private `/opt` (with
/// the Flink distribution at `/opt/flink/{lib,bin,opt}` for a Flink image), a private tmpfs under
/// `/var/run/secrets` when something is mounted there, and the container's volumes at their mount
/// paths (read-only ones remounted so).
fn namespace_setup(
    hostname: &str,
    image: Option<(&Path, &[(String, String)])>,
    overlay: Option<&Path>,
    mounts: &[Mount],
    read_only_root: bool,
) -> String {
    let distribution = image.map(|(d, _)| d);
    let plugins = image.map_or(&[][..], |(_, p)| p);
    let mut s = format!(
        "set -e\nhostname {}\nmount -t tmpfs tmpfs /opt\n",
        quote(hostname)
    );
    // A custom image's files, copied as `COPY` adds them (kept as the directory has them); never
    // into the distribution's directories, which CustomImage::parse refuses.
    if let Some(dir) = overlay {
        s.push_str(&format!(
            "cp -a {}/opt/. /opt/\n",
            quote(&dir.display().to_string())
        ));
    }
    for dir in distribution.into_iter().flat_map(|d| {
        ["lib", "bin", "opt"]
            .into_iter()
            .map(move |sub| (sub, d.join(sub)))
    }) {
        let (sub, source) = dir;
        if source.exists() {
            s.push_str(&format!(
                "mkdir -p {FLINK_HOME}/{sub}\nmount --bind {} {FLINK_HOME}/{sub}\n",
                quote(&source.display().to_string()),
            ));
        }
    }
    if distribution.is_some() {
        // As in the image: /opt/flink and its directories belong to flink (9999:9999).
        s.push_str(&format!(
            "mkdir -p {FLINK_HOME}/log {FLINK_HOME}/usrlib {CONF_DIR}\n\
             chown 9999:9999 {FLINK_HOME} {FLINK_HOME}/log {FLINK_HOME}/usrlib {CONF_DIR}\n"
        ));
        // The image's ready plugins, before the volumes: one mounted over `plugins/` hides them.
        for (dir, jar) in plugins {
            let dir = format!("{FLINK_HOME}/plugins/{}", quote(dir));
            s.push_str(&format!(
                "mkdir -p {dir}\nprintf '{EMPTY_JAR}' > {dir}/{}\n",
                quote(jar)
            ));
        }
        if !plugins.is_empty() {
            s.push_str(&format!("chown -R 9999:9999 {FLINK_HOME}/plugins\n"));
        }
    }
    // Only the pod sees what is mounted under it: the host keeps an empty directory at most.
    if mounts.iter().any(|m| m.path.starts_with(SECRETS_DIR)) {
        s.push_str(&format!(
            "mkdir -p {SECRETS_DIR}\nmount -t tmpfs tmpfs {SECRETS_DIR}\n"
        ));
    }
    for m in mounts {
        let path = quote(&m.path);
        s.push_str(&format!(
            "mkdir -p {path}\nmount --bind {} {path}\n",
            quote(&m.source)
        ));
        if m.read_only {
            s.push_str(&format!("mount -o remount,bind,ro {path}\n"));
        }
    }
    if read_only_root {
        // Everything but its volumes: bind remounts change this namespace's mounts only.
        s.push_str("mount -o remount,bind,ro /\nmount -o remount,bind,ro /opt\n");
        if distribution.is_some() {
            for sub in ["lib", "bin", "opt"] {
                s.push_str(&format!(
                    "if mountpoint -q {FLINK_HOME}/{sub}; then mount -o remount,bind,ro {FLINK_HOME}/{sub}; fi\n"
                ));
            }
        }
        // The machine's /tmp may be a mount of its own; a volume mounted there stays writable.
        if !mounts
            .iter()
            .any(|m| m.path.trim_end_matches('/') == "/tmp")
        {
            s.push_str("if mountpoint -q /tmp; then mount -o remount,bind,ro /tmp; fi\n");
        }
    }
    s
}

/// The script of a container that runs its command (an init container, or an app container of
/// an image other than Flink's): its own volumes and the pod's hosts file, then its command, run
/// from `/` (the working directory of the images such containers use, e.g. busybox) with the
/// tools of this machine standing in for its image's.
pub fn command_script(
    hostname: &str,
    mounts: &[Mount],
    hosts_file: &Path,
    command: &[String],
    security: &Security,
) -> Result<String, String> {
    if command.is_empty() {
        return Err(
            "the local kubelet runs this container's command and args with this machine's tools; \
             it has none"
                .into(),
        );
    }
    let mut s = namespace_setup(hostname, None, None, mounts, security.read_only_root);
    s.push_str(&hosts_mount(hosts_file));
    let words: Vec<String> = security
        .setpriv()
        .iter()
        .chain(command)
        .map(|w| quote(w))
        .collect();
    s.push_str(&format!("cd /\nexec {}\n", words.join(" ")));
    Ok(s)
}

/// The kubelet's hosts file, mounted at `/etc/hosts` as a kubelet mounts it in every container.
fn hosts_mount(hosts_file: &Path) -> String {
    format!(
        "mount --bind {} /etc/hosts\n",
        quote(&hosts_file.display().to_string())
    )
}

/// Builds the script. `Err` says why the container cannot start (an entrypoint this kubelet does
/// not know).
pub fn script(launch: &Launch) -> Result<Script, String> {
    let Launch {
        hostname,
        distribution,
        overlay,
        mounts,
        args,
        config_yaml,
        config_writable,
        entrypoint_settings,
        hosts_file,
        security,
        log_file,
        opt_jars,
        plugins,
    } = launch;
    let first = args.first().map(String::as_str).unwrap_or_default();
    let entry = entry(first).ok_or_else(|| {
        format!(
            "the local kubelet runs the official Flink image's entrypoints (jobmanager, \
             taskmanager, standalone-job), not {first:?}"
        )
    })?;
    let mut setup = namespace_setup(
        hostname,
        Some((distribution, plugins)),
        *overlay,
        mounts,
        security.read_only_root,
    );
    // Java reads it too.
    setup.push_str(&hosts_mount(hosts_file));
    // The rest runs as the container's user, as the image's entrypoint would.
    let mut s = format!("set -e\ncd {FLINK_HOME}\n");
    s.push_str(&enable_built_in_plugins(opt_jars));
    // The image's entrypoint rewrites the configuration with its settings; where the directory is
    // a ConfigMap (read-only, as the provider mounts it) that write fails and Flink starts on the
    // file as mounted, so the settings are left out here too.
    if *config_writable {
        let options: Vec<String> = entrypoint_settings
            .iter()
            .map(|(k, v)| quote(&format!("-D{k}={v}")))
            .collect();
        // Only over a file: the distribution here has no image's default `config.yaml`.
        s.push_str(&format!(
            "if [ -f {CONF_DIR}/config.yaml ]; then\n\
             settings=$(java -cp \"{FLINK_HOME}/bin/bash-java-utils.jar:{FLINK_HOME}/lib/*\" \
             org.apache.flink.runtime.util.bash.BashJavaUtils UPDATE_AND_GET_FLINK_CONFIGURATION \
             --configDir {CONF_DIR} {} | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' \
             | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://')\n\
             echo \"$settings\" > {CONF_DIR}/config.yaml\nfi\n",
            options.join(" ")
        ));
    } else {
        s.push_str(&format!(
            "echo 'kubelet: {CONF_DIR} is read-only (a ConfigMap or Secret volume): the image'\\''s \
             entrypoint cannot write its settings or FLINK_PROPERTIES into it'\n"
        ));
    }
    let setting = |key: &str| {
        let written = entrypoint_settings
            .iter()
            .rev()
            .find(|(k, _)| *config_writable && k == key)
            .map(|(_, v)| v.clone());
        written.or_else(|| config_value(config_yaml, key))
    };
    let mut jvm_options = Vec::new();
    for key in [
        "env.java.default-opts.all".to_string(),
        "env.java.opts.all".to_string(),
        format!("env.java.opts.{}", entry.component),
        "env.java.opts".to_string(),
    ] {
        if let Some(v) = setting(&key) {
            jvm_options.push(v);
        }
    }
    // From here on the entrypoint runs Flink's scripts through `drop_privs_cmd`: started as root,
    // it steps down to the image's user `flink` with `gosu flink` (uid and gid 9999, its groups
    // from /etc/group, so a pod's fsGroup is no longer among them). Without CAP_SETUID (root with
    // every capability dropped) that step fails, as gosu does.
    let mut flink = String::new();
    let dynamic: Vec<String> = args[1..]
        .iter()
        .filter(|a| a.starts_with("-D"))
        .map(|a| quote(a))
        .collect();
    let program: Vec<String> = args[1..].iter().map(|a| quote(a)).collect();
    flink.push_str(&format!(
        "utils=$(java -cp \"{FLINK_HOME}/bin/bash-java-utils.jar:{FLINK_HOME}/lib/*\" \
         org.apache.flink.runtime.util.bash.BashJavaUtils {} --configDir {CONF_DIR} {} \
         | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://')\n",
        entry.resources,
        dynamic.join(" ")
    ));
    flink.push_str("memory_jvm=$(echo \"$utils\" | sed -n 1p)\nmemory_dynamic=$(echo \"$utils\" | sed -n 2p)\n");
    flink.push_str(&format!(
        "exec java $memory_jvm {} -Dlog.file={} -Dlog4j.configurationFile=file:{CONF_DIR}/log4j-console.properties \
         -Djdk.net.hosts.file={} -cp \"{FLINK_HOME}/lib/*:{FLINK_HOME}/usrlib/*\" {} --configDir {CONF_DIR} {} $memory_dynamic\n",
        jvm_options.join(" "),
        quote(&log_file.display().to_string()),
        "/etc/hosts",
        entry.class,
        program.join(" ")
    ));
    if security.uid == 0 {
        s.push_str(&format!(
            "exec setpriv --reuid {FLINK_UID} --regid {FLINK_UID} --groups {FLINK_UID} -- sh -c {}\n",
            quote(&flink)
        ));
    } else {
        s.push_str(&flink);
    }
    let setpriv: Vec<String> = security.setpriv().iter().map(|w| quote(w)).collect();
    setup.push_str(&format!("exec {} sh -c {}\n", setpriv.join(" "), quote(&s)));
    Ok(Script { text: setup })
}

/// The official image's entrypoint's `copy_plugins_if_required`: each jar `ENABLE_BUILT_IN_PLUGINS`
/// names (`;`-separated) is linked from `opt/` into `plugins/<name without .jar>/`, and a name
/// `opt/` lacks ends the container ("Plugin X does not exist. Exiting."). A directory or link it
/// cannot make (a read-only root without a volume at `plugins/`) fails only that command, as the
/// entrypoint runs without `set -e`, and Flink starts without the plugin. File system jars that
/// PyPI's distribution lacks are linked by name and load nothing here.
fn enable_built_in_plugins(opt_jars: &[String]) -> String {
    // Names from a directory listing go into a shell pattern: only plain file names.
    let known: Vec<&str> = opt_jars
        .iter()
        .map(String::as_str)
        .filter(|j| {
            j.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .collect();
    format!(
        "if [ -n \"$ENABLE_BUILT_IN_PLUGINS\" ]; then\n\
         echo 'Enabling required built-in plugins'\n\
         for target_plugin in $(echo \"$ENABLE_BUILT_IN_PLUGINS\" | tr ';' ' '); do\n\
         echo \"Linking ${{target_plugin}} to plugin directory\"\n\
         plugin_name=${{target_plugin%.jar}}\n\
         mkdir -p \"{FLINK_HOME}/plugins/${{plugin_name}}\" || true\n\
         case \" {} \" in *\" $target_plugin \"*) ;; *)\n\
         echo \"Plugin ${{target_plugin}} does not exist. Exiting.\"; exit 1;; esac\n\
         ln -fs \"{FLINK_HOME}/opt/${{target_plugin}}\" \"{FLINK_HOME}/plugins/${{plugin_name}}\" || true\n\
         echo \"Successfully enabled ${{target_plugin}}\"\n\
         done\n\
         fi\n",
        known.join(" ")
    )
}

/// What the official image's entrypoint writes into the configuration before Flink starts, in
/// order: `jobmanager.rpc.address` (`JOB_MANAGER_RPC_ADDRESS`, else the pod's hostname), the blob
/// and query server ports, `taskmanager.numberOfTaskSlots` from `TASK_MANAGER_NUMBER_OF_TASK_SLOTS`,
/// then each `key: value` line of `FLINK_PROPERTIES` as the entrypoint reads it (all whitespace
/// dropped, split at the first `:`, `$VAR` and `${VAR}` in the value substituted).
pub fn entrypoint_settings(
    hostname: &str,
    env: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let address = env
        .get("JOB_MANAGER_RPC_ADDRESS")
        .filter(|a| !a.is_empty())
        .map_or(hostname, String::as_str);
    let mut settings = vec![
        ("jobmanager.rpc.address".to_string(), address.to_string()),
        ("blob.server.port".to_string(), "6124".to_string()),
        ("query.server.port".to_string(), "6125".to_string()),
    ];
    if let Some(slots) = env
        .get("TASK_MANAGER_NUMBER_OF_TASK_SLOTS")
        .filter(|s| !s.is_empty())
    {
        settings.push(("taskmanager.numberOfTaskSlots".into(), slots.clone()));
    }
    for line in env
        .get("FLINK_PROPERTIES")
        .map(String::as_str)
        .unwrap_or_default()
        .lines()
    {
        let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':').unwrap_or((&line, ""));
        settings.push((key.to_string(), substitute(value, env)));
    }
    settings
}

/// `envsubst`: `$VAR` and `${VAR}` replaced by the variable's value, empty when unset.
fn substitute(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(env.get(name).map_or("", String::as_str));
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// The container's `lifecycle.preStop.exec.command` (empty when it has none; `httpGet` and
/// `sleep` hooks are not run here).
pub fn pre_stop_command(container: &Json) -> Vec<String> {
    container["lifecycle"]["preStop"]["exec"]["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(String::from)
        .collect()
}

/// A container's command then args, `$(VAR)` expanded from its environment.
pub fn command(container: &Json, env: &BTreeMap<String, String>) -> Vec<String> {
    container["command"]
        .as_array()
        .into_iter()
        .chain(container["args"].as_array())
        .flatten()
        .filter_map(Json::as_str)
        .map(|w| expand(w, env))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Security {
        super::super::security::resolve(
            &serde_json::json!({}),
            &serde_json::json!({}),
            super::super::security::ROOT,
            "p",
        )
        .unwrap()
    }

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
    fn the_entrypoint_settings_come_from_its_environment_and_flink_properties() {
        let env: BTreeMap<String, String> = [
            ("TASK_MANAGER_NUMBER_OF_TASK_SLOTS", "4"),
            ("BUCKET", "state"),
            (
                "FLINK_PROPERTIES",
                "state.checkpoints.dir: s3://${BUCKET}/cp\n\n  rest.port : 9000\nweird $BUCKET x: $NONE.",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = entrypoint_settings("jm-0", &env);
        let pairs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("jobmanager.rpc.address", "jm-0"),
                ("blob.server.port", "6124"),
                ("query.server.port", "6125"),
                ("taskmanager.numberOfTaskSlots", "4"),
                ("state.checkpoints.dir", "s3://state/cp"),
                ("rest.port", "9000"),
                // As the image: whitespace goes first, so the key swallows the words before ':'.
                ("weird$BUCKETx", "."),
            ]
        );
    }

    #[test]
    fn a_read_only_configuration_keeps_the_entrypoint_settings_out() {
        let launch = |writable: bool| {
            script(&Launch {
                hostname: "pod",
                distribution: Path::new("/d"),
                overlay: None,
                mounts: &[],
                args: &["taskmanager".into()],
                config_yaml: "env.java.opts.all: --from-file\n",
                config_writable: writable,
                entrypoint_settings: &[("env.java.opts.all".into(), "--from-properties".into())],
                hosts_file: Path::new("/h"),
                security: &root(),
                log_file: Path::new("/l"),
                opt_jars: &[],
                plugins: &[],
            })
            .ok()
            .unwrap()
            .text
        };
        let writable = launch(true);
        assert!(
            writable.contains("UPDATE_AND_GET_FLINK_CONFIGURATION"),
            "{writable}"
        );
        assert!(writable.contains("--from-properties"), "{writable}");
        let read_only = launch(false);
        assert!(
            !read_only.contains("UPDATE_AND_GET_FLINK_CONFIGURATION"),
            "{read_only}"
        );
        assert!(read_only.contains("--from-file") && !read_only.contains("--from-properties"));
    }

    #[test]
    fn a_command_container_gets_its_volumes_hosts_and_its_command_only() {
        let mounts = [Mount {
            source: "/pods/p/volumes/usrlib".into(),
            path: "/opt/flink/usrlib".into(),
            read_only: false,
        }];
        let command = [
            "sh".to_string(),
            "-c".into(),
            "wget -O x 'http://h/a b'".into(),
        ];
        let hosts = Path::new("/pods/p/hosts");
        let script = command_script("pod", &mounts, hosts, &command, &root()).unwrap();
        assert!(
            script.contains("mount --bind '/pods/p/volumes/usrlib' '/opt/flink/usrlib'"),
            "{script}"
        );
        assert!(
            !script.contains("/opt/flink/lib"),
            "no Flink in a busybox image: {script}"
        );
        assert!(
            script.ends_with(
                &(r#"exec 'sh' '-c' 'wget -O x '\''http://h/a b'\'''"#.to_owned() + "\n")
            ),
            "{script}"
        );
        assert!(
            script.contains("mount --bind '/pods/p/hosts' /etc/hosts\n"),
            "{script}"
        );
        assert!(command_script("pod", &mounts, hosts, &[], &root()).is_err());
        let user = Security {
            uid: 1000,
            read_only_root: true,
            ..root()
        };
        let script = command_script("pod", &mounts, hosts, &command, &user).unwrap();
        assert!(script.contains("mount -o remount,bind,ro /\n"), "{script}");
        assert!(
            script.contains(
                "exec 'setpriv' '--reuid' '1000' '--regid' '0' '--clear-groups' '--' 'sh'"
            ),
            "{script}"
        );
    }

    #[test]
    fn a_custom_images_files_are_laid_over_opt_before_the_distribution_and_volumes() {
        let distribution = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(distribution.path().join("lib")).unwrap();
        let mounts = [Mount {
            source: "/pods/p/volumes/conf".into(),
            path: "/opt/flink/conf".into(),
            read_only: true,
        }];
        let text = script(&Launch {
            hostname: "pod",
            distribution: distribution.path(),
            overlay: Some(Path::new("/images/my job")),
            mounts: &mounts,
            args: &["standalone-job".into()],
            config_yaml: "",
            config_writable: false,
            entrypoint_settings: &[],
            hosts_file: Path::new("/h"),
            security: &root(),
            log_file: Path::new("/l"),
            opt_jars: &[],
            plugins: &[],
        })
        .ok()
        .unwrap()
        .text;
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle:?} not in {text}"))
        };
        let copy = at("cp -a '/images/my job'/opt/. /opt/\n");
        assert!(at("mount -t tmpfs tmpfs /opt\n") < copy, "{text}");
        assert!(copy < at("/opt/flink/lib\n"), "{text}");
        assert!(copy < at("mount --bind '/pods/p/volumes/conf'"), "{text}");
        // The main container's classpath has usrlib, as the image's standalone-job has it.
        assert!(text.contains("/opt/flink/usrlib/*"), "{text}");
    }

    #[test]
    fn unknown_entrypoints_are_refused() {
        let err = script(&Launch {
            hostname: "pod",
            distribution: Path::new("/d"),
            overlay: None,
            mounts: &[],
            args: &["sleep".into()],
            config_yaml: "",
            config_writable: false,
            entrypoint_settings: &[],
            hosts_file: Path::new("/h"),
            security: &root(),
            log_file: Path::new("/l"),
            opt_jars: &[],
            plugins: &[],
        })
        .err()
        .unwrap();
        assert!(err.contains("standalone-job"), "{err}");
    }
}
