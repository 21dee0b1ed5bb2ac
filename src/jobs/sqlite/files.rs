//! The database file's permissions: it holds customers' names, phone numbers and addresses.

use std::path::Path;

use crate::jobs::StoreError;

/// The database holds customers' names, phone numbers and addresses: only the service's own
/// user may read it. A new database file is created `0600` before SQLite opens it (whatever
/// the umask), and SQLite gives the `-wal` and `-shm` files it creates the main file's
/// permissions, so all three are private. An existing file keeps the permissions its operator
/// gave it, with a warning when others may read it.
#[cfg(unix)]
pub(super) fn create_private(db: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(db);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(db)
                && meta.is_file()
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %db.display(),
                    mode = format!("{:o}", meta.permissions().mode() & 0o777),
                    "the job store's database (customers' names and phone numbers) may be read \
                     by other users: chmod 600 it and its -wal and -shm files"
                );
            }
            Ok(())
        }
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot create {}: {e}",
            db.display()
        ))),
    }
}

/// A `-wal` or `-shm` file left by an earlier run keeps its own permissions when SQLite reuses
/// it: none may let anyone read more than the main file does.
#[cfg(unix)]
pub(super) fn match_side_files(db: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(main) = std::fs::metadata(db).map(|m| m.permissions().mode() & 0o777) else {
        return;
    };
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let Ok(mode) = std::fs::metadata(&side).map(|m| m.permissions().mode() & 0o777) else {
            continue;
        };
        if mode & !main != 0
            && let Err(e) =
                std::fs::set_permissions(&side, std::fs::Permissions::from_mode(mode & main))
        {
            tracing::warn!(file = ?side, error = %e, "cannot narrow the permissions of a job store file");
        }
    }
}
