//! Wiring store profiles to a sandbox (`serve --sandbox`, `demo`, the tests): the accounts and
//! templates each store's rules need, and the stores pointed at the sandbox's URL.

use std::net::TcpListener;
use std::sync::Arc;

use super::{
    Account, HeaderKind, Provisioner, SandboxConfig, SandboxHandle, Template, TemplateState,
};
use crate::stores::reload::Transform;
use crate::stores::{Store, StoreRegistry};

/// Every reloaded store pointed at the sandbox at `base_url`.
pub fn pointed_at(base_url: String) -> Transform {
    Arc::new(move |registry| repoint(&registry, &base_url))
}

/// Accounts and templates a sandbox needs so every store's rules can send: each store's
/// credentials, and each rule's template (approved, with as many placeholders as the rule
/// fills) unless the sandbox already defines it.
pub fn sandbox_config_for(registry: &StoreRegistry) -> SandboxConfig {
    let mut config = SandboxConfig::default();
    for store in registry.iter() {
        let b = &store.buzzbip;
        use secrecy::ExposeSecret;
        if config.account(&b.username).is_none() {
            config.accounts.push(Account {
                username: b.username.clone(),
                password: b.password.expose_secret().to_owned(),
                api_key: b.api_key.expose_secret().to_owned(),
                api_access: true,
            });
        }
        for rule in &store.rules {
            for template_id in rule.all_templates() {
                if !config.templates.iter().any(|t| t.id == template_id) {
                    config.templates.push(Template {
                        id: template_id,
                        name: format!("{}-{}", store.id, rule.on),
                        placeholders: rule.body_params.len(),
                        header: if rule.attach_invoice {
                            HeaderKind::Document
                        } else {
                            HeaderKind::None
                        },
                        state: TemplateState::Approved,
                        url_buttons: rule.buttons.len(),
                    });
                }
            }
        }
    }
    config
}

/// The same stores, every one pointed at `base_url`.
pub fn repoint(registry: &StoreRegistry, base_url: &str) -> StoreRegistry {
    StoreRegistry::from_stores(registry.iter().map(|s| {
        let mut store: Store = (**s).clone();
        store.buzzbip.base_url = base_url.to_owned();
        store
    }))
}

/// Every reloaded store given its account (and its rules' templates) in the running sandbox,
/// then pointed at it.
pub fn provisioned(sandbox: Provisioner, base_url: String) -> Transform {
    Arc::new(move |registry| {
        sandbox.provision(&sandbox_config_for(&registry));
        repoint(&registry, &base_url)
    })
}

/// Starts a sandbox for `registry` and returns it with the repointed stores.
pub fn with_sandbox(registry: &StoreRegistry) -> anyhow::Result<(SandboxHandle, StoreRegistry)> {
    let sandbox = super::spawn(
        &sandbox_config_for(registry),
        TcpListener::bind("127.0.0.1:0")?,
    )?;
    let stores = repoint(registry, &sandbox.base_url());
    Ok((sandbox, stores))
}

/// Points each store's sandbox account at shopbip's own events endpoint,
/// `{shopbip_base}/buzzbip/events/{store_id}`, signed with the store's `buzzbip.webhook_secret`,
/// so `serve --sandbox` shows the whole loop. Stores without a secret are left alone (shopbip
/// would refuse their events); stores sharing one account: the last wins, as Buzzbip keeps one
/// webhook per account.
pub fn route_events(sandbox: &Provisioner, registry: &StoreRegistry, shopbip_base: &str) {
    use secrecy::ExposeSecret;
    let base = shopbip_base.trim_end_matches('/');
    let mut state = sandbox.0.lock();
    for store in registry.iter() {
        let Some(secret) = &store.buzzbip_webhook_secret else {
            continue;
        };
        state.set_events_target(
            Some(store.buzzbip.username.clone()),
            Some(super::events::Target {
                url: format!("{base}/buzzbip/events/{}", store.id),
                secret: Some(secret.expose_secret().to_owned()),
            }),
        );
    }
}
