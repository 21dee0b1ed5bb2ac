//! Reading the profile folder: every `*.toml` in it, each read, `${ENV}`-interpolated,
//! deserialised and validated, with every problem of every file reported at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::validate::validate;
use super::{
    ProfileError, ProfileFile, Store, StoreCheck, StoreId, StoreRegistry, platform_keys, profile,
    template_error,
};

impl StoreRegistry {
    /// Loads every `*.toml` in `dir`, reading `${ENV}` from the process environment. A folder
    /// that does not exist holds no stores; any invalid profile fails the whole load.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<ProfileError>> {
        Self::load_dir_with(dir, &|name| std::env::var(name).ok())
    }

    /// Everything `shopbip check` checks, as `serve` and hot reload apply it: every profile
    /// valid (each store's own invoice template compiled against a sample order), and at least
    /// one of them — a missing or empty folder is an error, not a server that sends nothing.
    pub fn load_valid(dir: &Path, check: &StoreCheck) -> Result<Self, Vec<ProfileError>> {
        let dir_error = |message: String| ProfileError {
            file: dir.to_path_buf(),
            key: String::new(),
            message,
        };
        if !dir.is_dir() {
            return Err(vec![dir_error(
                "the store profile folder does not exist (stores.dir; one <store_id>.toml per store, see plugin-config/README.md)".into(),
            )]);
        }
        let registry = Self::load_dir(dir)?;
        if registry.is_empty() {
            return Err(vec![dir_error(
                "no store profile in the folder (one <store_id>.toml per store: copy an example-*.toml)".into(),
            )]);
        }
        let errors: Vec<ProfileError> = registry
            .iter()
            .filter_map(|store| template_error(store, check).err())
            .collect();
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(errors)
        }
    }

    pub fn load_dir_with(
        dir: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ProfileError>> {
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(vec![ProfileError {
                    file: dir.to_path_buf(),
                    key: String::new(),
                    message: format!("cannot read the folder: {e}"),
                }]);
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
            })
            .collect();
        files.sort();
        let mut stores: HashMap<StoreId, Store> = HashMap::new();
        for file in files {
            match load_file(&file, lookup) {
                Ok(store) => {
                    if let Some(existing) = stores.get(&store.id) {
                        errors.push(ProfileError {
                            file: file.clone(),
                            key: String::new(),
                            message: format!(
                                "duplicate store id {:?} (also {})",
                                store.id.as_str(),
                                existing.file.display()
                            ),
                        });
                    } else {
                        stores.insert(store.id.clone(), store);
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(Self::from_stores(stores.into_values()))
        } else {
            Err(errors)
        }
    }
}

/// Reads, interpolates, deserialises and validates one profile.
pub fn load_file(
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Store, Vec<ProfileError>> {
    let err = |key: &str, message: String| ProfileError {
        file: file.to_path_buf(),
        key: key.to_owned(),
        message,
    };
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let id = StoreId::parse(stem).map_err(|m| vec![err("", m)])?;
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![err("", format!("cannot read: {e}"))])?;
    // Errors name the key and line, never a secret's value (see `profile::parse_toml`).
    let mut doc = profile::parse_toml(&text).map_err(|p| vec![err(&p.key, p.message)])?;
    let mut expanded = std::collections::HashSet::new();
    profile::expanded_paths(&doc, "", &mut expanded);
    let mut env_errors = Vec::new();
    profile::interpolate(&mut doc, "", lookup, &mut env_errors);
    platform_keys::default_invoice_source(&mut doc);
    if !env_errors.is_empty() {
        return Err(env_errors.into_iter().map(|(k, m)| err(&k, m)).collect());
    }
    let raw: ProfileFile =
        profile::deserialize_reporting_all(doc, &text, &expanded).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| err(&p.key, p.message))
                .collect::<Vec<_>>()
        })?;
    validate(id, file, raw)
}
