//! Service files: a systemd user unit or a launchd agent that runs `gatehouse daemon run` for
//! one repository, from the templates in `daemon/`.

use std::path::{Path, PathBuf};

use super::Paths;
use crate::git;

const SYSTEMD: &str = include_str!("../../daemon/gatehouse.service");
const LAUNCHD: &str = include_str!("../../daemon/gatehouse.plist");

/// Which service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Manager {
    /// A systemd user unit (Linux).
    Systemd,
    /// A launchd agent (macOS).
    Launchd,
}

impl Manager {
    /// The service manager of the platform this binary was built for.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }
}

/// A rendered service file and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFile {
    pub manager: Manager,
    /// The unit name or launchd label.
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    /// The commands that load it (printed, not run: gatehouse does not drive the init system).
    pub activate: String,
    pub deactivate: String,
}

/// The service file of the daemon of the repository at `repository` (its working tree).
pub fn render(
    manager: Manager,
    binary: &Path,
    repository: &Path,
    paths: &Paths,
    home: &Path,
) -> ServiceFile {
    let id = &git::hash_blob(paths.common_dir.as_os_str().as_encoded_bytes()).to_string()[..12];
    let repo = repository.display().to_string();
    let binary = binary.display().to_string();
    match manager {
        Manager::Systemd => {
            let name = format!("gatehouse-{id}.service");
            ServiceFile {
                manager,
                path: home.join(".config/systemd/user").join(&name),
                text: SYSTEMD
                    .replace("@REPO@", &repo)
                    .replace("@BINARY@", &binary.replace('"', "\\\"")),
                activate: format!(
                    "systemctl --user daemon-reload && systemctl --user enable --now {name}"
                ),
                deactivate: format!("systemctl --user disable --now {name}"),
                name,
            }
        }
        Manager::Launchd => {
            let name = format!("dev.gatehouse.{id}");
            let path = home
                .join("Library/LaunchAgents")
                .join(format!("{name}.plist"));
            ServiceFile {
                manager,
                text: LAUNCHD
                    .replace("@LABEL@", &name)
                    .replace("@REPO@", &xml_escape(&repo))
                    .replace("@BINARY@", &xml_escape(&binary))
                    .replace("@LOG@", &xml_escape(&paths.log.display().to_string())),
                activate: format!("launchctl load -w {}", path.display()),
                deactivate: format!("launchctl unload -w {}", path.display()),
                path,
                name,
            }
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_managers() {
        let paths = Paths::for_common_dir(Path::new("/src/r & d/.git"), None);
        let repo = Path::new("/src/r & d");
        let unit = render(
            Manager::Systemd,
            Path::new("/bin/gatehouse"),
            repo,
            &paths,
            Path::new("/home/u"),
        );
        assert!(unit.name.starts_with("gatehouse-") && unit.name.ends_with(".service"));
        assert!(unit.path.starts_with("/home/u/.config/systemd/user"));
        assert!(
            unit.text
                .contains("ExecStart=\"/bin/gatehouse\" daemon run\n")
        );
        assert!(unit.text.contains("WorkingDirectory=/src/r & d\n"));
        assert!(!unit.text.contains('@'));
        let plist = render(
            Manager::Launchd,
            Path::new("/bin/gatehouse"),
            repo,
            &paths,
            Path::new("/Users/u"),
        );
        assert!(plist.path.starts_with("/Users/u/Library/LaunchAgents"));
        assert!(plist.text.contains("<string>/src/r &amp; d</string>"));
        assert!(
            plist
                .text
                .contains(&format!("<string>{}</string>", plist.name))
        );
        assert!(!plist.text.contains('@'));
    }
}
