//! A Terraform workspace in a temporary directory, wired to the provider binary under test through a
//! CLI configuration: most tests use `dev_overrides` (no registry, no `terraform init`, the
//! binary cargo just built); the install tests give their own `provider_installation` (a mirror,
//! a registry) and run `terraform init` as users do. If `terraform` is not installed the tests
//! fail loudly: they never pass without having run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The provider binary cargo built for these tests.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-flink"))
}

/// A temporary Terraform working directory.
pub struct Workspace {
    dir: tempfile::TempDir,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

/// What one terraform command did.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout and stderr together, without colour.
    pub text: String,
}

impl Workspace {
    /// A new workspace using the provider binary cargo built through `dev_overrides`; panics with
    /// instructions when terraform is missing.
    pub fn new() -> Self {
        let plugin_dir = provider_binary()
            .parent()
            .expect("binary directory")
            .to_path_buf();
        Self::with_cli_config(&format!(
            "provider_installation {{\n  dev_overrides {{\n    \"flinkops/flink\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            plugin_dir.display().to_string()
        ))
    }

    /// A new workspace whose CLI configuration is `cli_config` (a `provider_installation` block,
    /// `host` blocks): the provider comes from wherever that says, through `terraform init`.
    pub fn with_cli_config(cli_config: &str) -> Self {
        let version = Command::new("terraform").arg("version").output();
        match version {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "the acceptance tests need the terraform CLI (1.11 or newer) on PATH; \
                 install it, or run .ci/run which checks for it"
            ),
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let cli_config_path = dir.path().join("terraform.tfrc");
        std::fs::write(&cli_config_path, cli_config).expect("write CLI configuration");
        Workspace {
            dir,
            cli_config: cli_config_path,
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every terraform command of this workspace.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_string(), value.to_string()));
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces the configuration (main.tf) with a `required_providers` header and `body`.
    pub fn config(&self, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    flink = {{ source = \"flinkops/flink\" }}\n  }}\n}}\n\n{body}\n"
        );
        std::fs::write(self.path().join("main.tf"), text).expect("write main.tf");
    }

    /// Like `config`, with a version constraint on the provider (`"~> 0.1"`).
    pub fn config_with_version(&self, constraint: &str, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    flink = {{\n      source  = \"flinkops/flink\"\n      version = \"{constraint}\"\n    }}\n  }}\n}}\n\n{body}\n"
        );
        std::fs::write(self.path().join("main.tf"), text).expect("write main.tf");
    }

    /// `terraform init <args>`, which must succeed; returns its output.
    pub fn init(&self, args: &[&str]) -> String {
        let mut all = vec!["init", "-no-color"];
        all.extend_from_slice(args);
        let run = self.terraform(&all);
        assert_eq!(run.code, 0, "terraform init failed:\n{}", run.text);
        run.text
    }

    /// The dependency lock file `terraform init` wrote, if any.
    pub fn lock_file(&self) -> String {
        std::fs::read_to_string(self.path().join(".terraform.lock.hcl")).unwrap_or_default()
    }

    /// Runs `terraform <args>` in the workspace.
    pub fn terraform(&self, args: &[&str]) -> Run {
        self.terraform_with_env(args, &[])
    }

    /// `terraform <args>` in the workspace, with its environment, not yet started.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("terraform");
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_INPUT", "0");
        command
    }

    /// Starts `terraform <args>` in the workspace in a process group of its own (whose id is its
    /// pid), its output piped, for a test that signals it while it runs.
    pub fn spawn_terraform(&self, args: &[&str]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        self.command(args)
            // Its own process group, which the test signals as a terminal's Ctrl-C signals the
            // foreground group: terraform and the provider it started together.
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start terraform")
    }

    /// Runs `terraform <args>` with extra environment variables.
    pub fn terraform_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output: Output = self
            .command(args)
            .envs(env.iter().copied())
            .output()
            .expect("run terraform");
        Run {
            code: output.status.code().unwrap_or(-1),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// `terraform plan`; returns its output and whether it found changes. Panics on error.
    pub fn plan(&self) -> (bool, String) {
        let run = self.terraform(&["plan", "-no-color", "-detailed-exitcode"]);
        match run.code {
            0 => (false, run.text),
            2 => (true, run.text),
            _ => panic!("terraform plan failed:\n{}", run.text),
        }
    }

    /// `terraform plan` that must fail; returns its output.
    pub fn plan_error(&self) -> String {
        let run = self.terraform(&["plan", "-no-color"]);
        assert_ne!(run.code, 0, "plan was expected to fail:\n{}", run.text);
        run.text
    }

    /// Asserts the next plan shows no changes.
    pub fn assert_no_changes(&self) {
        let (changes, text) = self.plan();
        assert!(!changes, "expected an empty plan after apply, got:\n{text}");
    }

    /// `terraform apply`, then a plan that must be empty. Returns the apply output.
    pub fn apply(&self) -> String {
        let run = self.terraform(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(run.code, 0, "terraform apply failed:\n{}", run.text);
        self.assert_no_changes();
        run.text
    }

    /// `terraform import ADDRESS ID` (callers check the plan once everything is imported).
    pub fn import(&self, address: &str, id: &str) -> String {
        let run = self.terraform(&["import", "-no-color", address, id]);
        assert_eq!(run.code, 0, "terraform import failed:\n{}", run.text);
        run.text
    }

    /// `terraform destroy`; asserts the state is empty after.
    pub fn destroy(&self) -> String {
        let run = self.terraform(&["destroy", "-auto-approve", "-no-color"]);
        assert_eq!(run.code, 0, "terraform destroy failed:\n{}", run.text);
        let state = self.terraform(&["state", "list"]);
        assert!(
            state.text.trim().is_empty(),
            "state not empty after destroy:\n{}",
            state.text
        );
        run.text
    }

    /// The state as `terraform show -json` prints it.
    pub fn state(&self) -> serde_json::Value {
        let run = self.terraform(&["show", "-json", "-no-color"]);
        assert_eq!(run.code, 0, "terraform show failed:\n{}", run.text);
        serde_json::from_str(&run.text).expect("show -json output")
    }

    /// The values of the resource at `address` in the state.
    pub fn resource_values(&self, address: &str) -> serde_json::Value {
        let state = self.state();
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["address"] == address))
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{address} not in state: {state}"))
    }
}

/// Terraform's output with its diagnostics' box and line wrapping undone, words single-spaced, so
/// a test can look for a sentence however Terraform wrapped it.
pub fn unwrapped(output: &str) -> String {
    output
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where tests keep files the local kubelet's pods see at their host paths (pod directories, jars,
/// shared storage): the target's tmp directory, unless the checkout is itself under `/tmp`,
/// which every pod mounts an emptyDir over, hiding them; then `/var/tmp`.
pub fn host_files_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if !target.starts_with("/tmp") {
        return target.to_path_buf();
    }
    let dir = Path::new("/var/tmp/flink-provider-tests");
    std::fs::create_dir_all(dir).expect("a directory outside /tmp");
    dir.to_path_buf()
}

/// A directory that stands in for the storage every pod shares (S3 or a shared volume on a real
/// cluster) when a test gives Flink `file://` paths: outside `/tmp`, which each pod has to itself
/// (an emptyDir), and writable by the user the pods run as (9999 unless the pod says otherwise).
pub fn shared_storage() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir_in(host_files_dir()).expect("a directory for storage");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("storage open to the pods' user");
    dir
}

/// The pod setting of tests that give Flink `file://` storage on this machine: a read-only root
/// filesystem (the default) leaves Flink only its volumes to write, so it could not write there.
/// On a real cluster that storage is S3, or a volume, and the root stays read-only.
pub const NODE_STORAGE: &str = "pod = { read_only_root_filesystem = false }";
