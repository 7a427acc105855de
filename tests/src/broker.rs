//! A private Mosquitto for tests that must configure, stop or restart their
//! broker: started from the system's `mosquitto` binary on a free port with
//! the project's queueing settings (deploy/mosquitto/tuning.conf).
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct PrivateBroker {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: String,
}

const TUNING: &str = include_str!("../../deploy/mosquitto/tuning.conf");

impl PrivateBroker {
    /// Starts a broker with persistence in a folder of its own.
    pub fn start() -> PrivateBroker {
        PrivateBroker::start_with("")
    }

    /// Starts a broker that admits only the users of `passwords` (a
    /// `mosquitto_passwd` file) and enforces `acl`.
    pub fn start_with_auth(passwords: &std::path::Path, acl: &std::path::Path) -> PrivateBroker {
        PrivateBroker::start_with(&format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}",
            passwords.display(),
            acl.display()
        ))
    }

    /// Starts a broker with extra configuration lines.
    pub fn start_with(extra: &str) -> PrivateBroker {
        let dir = std::env::temp_dir().join(crate::unique("kagoshima-mosquitto"));
        std::fs::create_dir_all(&dir).expect("broker folder");
        // Started as root, mosquitto drops to its own user: it must be able to
        // write its persistence file here, or sessions vanish on restart.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                .expect("broker folder mode");
        }
        let mut broker = PrivateBroker {
            port: crate::free_port(),
            dir,
            child: None,
            extra: extra.to_owned(),
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        let conf = self.dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\nlistener {port} 127.0.0.1\n{anonymous}persistence true\npersistence_location {dir}/\nautosave_interval 1\n{TUNING}\n{extra}\n",
                port = self.port,
                dir = self.dir.display(),
                anonymous = if self.extra.contains("allow_anonymous") { "" } else { "allow_anonymous true\n" },
                extra = if std::env::var_os("KAGOSHIMA_BROKER_LOG").is_some() {
                    format!("{}\nlog_dest file {}/broker.log\nlog_type all", self.extra, self.dir.display())
                } else {
                    self.extra.clone()
                },
            ),
        )
        .expect("broker config");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (scripts/ensure-services.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "private mosquitto did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's process id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the broker (SIGTERM, so it saves its persistent sessions).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port with the same saved state.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("KAGOSHIMA_BROKER_LOG").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
