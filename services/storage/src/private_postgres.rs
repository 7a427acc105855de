//! A private PostgreSQL server started from the binaries installed on the
//! machine, in a data folder of its own, on a port of its own: for the
//! one-command demo (no database to set up) and for tests that must stop the
//! database under load.
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Why the private server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PrivatePostgresError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb and pg_ctl in PATH and /usr/lib/postgresql/*/bin); install them, e.g. `apt-get install postgresql`, or set DATABASE_URL"
    )]
    NotInstalled,
    #[error("{step} failed: {detail}")]
    Failed { step: &'static str, detail: String },
}

/// A running private server; stopped when dropped.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<&'static str>,
    running: bool,
}

impl PrivatePostgres {
    /// Initialises `data` if it is empty and starts the server on `port`.
    /// As root, the server runs as the `postgres` user (PostgreSQL refuses root).
    pub fn start(data: &Path, port: u16) -> Result<PrivatePostgres, PrivatePostgresError> {
        let bin = find_bin_dir().ok_or(PrivatePostgresError::NotInstalled)?;
        PrivatePostgres::start_from(&bin, data, port)
    }

    /// [`start`](PrivatePostgres::start) with the server binaries of `bin`
    /// (a side-by-side build, say) instead of the machine's newest.
    pub fn start_from(
        bin: &Path,
        data: &Path,
        port: u16,
    ) -> Result<PrivatePostgres, PrivatePostgresError> {
        let bin = bin.to_path_buf();
        let run_as = is_root().then_some("postgres");
        std::fs::create_dir_all(data).map_err(|e| failed("create data folder", e))?;
        let data = data
            .canonicalize()
            .map_err(|e| failed("resolve data folder", e))?;
        if let Some(user) = run_as {
            chown(&data, user)?;
            let reachable = Command::new("runuser")
                .args(["-u", user, "--", "test", "-w"])
                .arg(&data)
                .status()
                .is_ok_and(|s| s.success());
            if !reachable {
                return Err(PrivatePostgresError::Failed {
                    step: "data folder",
                    detail: format!(
                        "the {user} user cannot reach {}: its parent folders need to be searchable by others (chmod o+x)",
                        data.display()
                    ),
                });
            }
        }
        let mut server = PrivatePostgres {
            bin,
            data,
            port,
            run_as,
            running: false,
        };
        if !server.data.join("PG_VERSION").exists() {
            server.run(
                "initdb",
                &[
                    "-D",
                    &server.data_str(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )?;
        }
        server.resume()?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:{port}/{database}`
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn pause(&mut self) -> Result<(), PrivatePostgresError> {
        self.run(
            "pg_ctl",
            &["-D", &self.data_str(), "-m", "fast", "-w", "stop"],
        )?;
        self.running = false;
        Ok(())
    }

    /// Starts the server again and waits until it accepts connections.
    pub fn resume(&mut self) -> Result<(), PrivatePostgresError> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.data_str()
        );
        let log = self.data.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_str(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        self.running = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(PrivatePostgresError::Failed {
                    step: "start",
                    detail: format!("not listening on port {} (see {log})", self.port),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    fn run(&self, tool: &'static str, args: &[&str]) -> Result<(), PrivatePostgresError> {
        let program = self.bin.join(tool);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let output = command
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| failed(tool, e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(PrivatePostgresError::Failed {
                step: tool,
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.run(
                "pg_ctl",
                &["-D", &self.data_str(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}

fn failed(step: &'static str, e: impl std::fmt::Display) -> PrivatePostgresError {
    PrivatePostgresError::Failed {
        step,
        detail: e.to_string(),
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    // Debian keeps the server binaries out of PATH, per major version.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| has_tools(p))
        .collect();
    versions.sort();
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| has_tools(dir))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown(path: &Path, user: &str) -> Result<(), PrivatePostgresError> {
    let status = Command::new("chown")
        .args(["-R", &format!("{user}:")])
        .arg(path)
        .status()
        .map_err(|e| failed("chown", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(PrivatePostgresError::Failed {
            step: "chown",
            detail: format!("could not give {} to {user}", path.display()),
        })
    }
}
