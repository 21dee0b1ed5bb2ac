//! What the sandbox remembers: accounts, templates, media, issued tokens, scripted faults and
//! every call it received.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use super::SandboxConfig;
use super::delivery::{self, KEPT_SENDS, SentMessage};
use super::events::{self, KEPT_EVENTS, Outgoing, Target};
use super::jwt::{self, Claims, TokenError};
use super::model::{
    Account, Call, DeliveryConfig, DeliveryUpdate, Fault, FaultKind, FaultTarget, Media,
    PostedEvent, Template,
};

/// Uploaded bytes are kept for the most recent uploads only, so a long load test stays bounded.
const KEPT_CONTENTS: usize = 64;

pub struct State {
    pub accounts: BTreeMap<String, Account>,
    pub templates: BTreeMap<u64, Template>,
    pub media: BTreeMap<String, Media>,
    contents: VecDeque<(String, bytes::Bytes)>,
    pub calls: Vec<Call>,
    faults: Vec<Fault>,
    pub token_ttl_secs: u64,
    secret: [u8; 32],
    next_jti: u64,
    /// Tokens whose `jti` is below this were expired through the control API.
    min_valid_jti: u64,
    next_media: u64,
    next_call: u64,
    delivery: DeliveryConfig,
    /// Accepted sends by bulk group id, and their order for forgetting the oldest.
    sent: BTreeMap<String, SentMessage>,
    sent_order: VecDeque<String>,
    /// Sends whose final state has not been noticed yet by the events ticker.
    unsettled: BTreeSet<String>,
    events_target: Option<Target>,
    account_targets: BTreeMap<String, Option<Target>>,
    posted: VecDeque<PostedEvent>,
}

pub enum Auth {
    Ok(Account),
    Missing,
    Invalid,
    Expired,
}

impl State {
    pub fn new(config: &SandboxConfig) -> Self {
        Self {
            accounts: config
                .accounts
                .iter()
                .map(|a| (a.username.clone(), a.clone()))
                .collect(),
            templates: config.templates.iter().map(|t| (t.id, t.clone())).collect(),
            media: BTreeMap::new(),
            contents: VecDeque::new(),
            calls: Vec::new(),
            faults: Vec::new(),
            token_ttl_secs: config.token_ttl_secs,
            secret: rand::random(),
            next_jti: 1,
            min_valid_jti: 0,
            next_media: 5001,
            next_call: 1,
            delivery: normalised(config.delivery.clone()),
            sent: BTreeMap::new(),
            sent_order: VecDeque::new(),
            unsettled: BTreeSet::new(),
            events_target: config.events_url.clone().map(|url| Target {
                url,
                secret: config.events_secret.clone(),
            }),
            account_targets: BTreeMap::new(),
            posted: VecDeque::new(),
        }
    }

    pub fn issue_token(&mut self, username: &str) -> String {
        let now = now_secs();
        let claims = Claims {
            iat: now,
            exp: now + self.token_ttl_secs,
            username: username.to_owned(),
            roles: vec!["ROLE_USER".to_owned()],
            jti: self.next_jti,
        };
        self.next_jti += 1;
        jwt::sign(&self.secret, &claims)
    }

    pub fn authenticate(&self, authorization: Option<&str>) -> Auth {
        let Some(token) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
            return Auth::Missing;
        };
        match jwt::verify(&self.secret, token.trim(), now_secs()) {
            Ok(claims) if claims.jti < self.min_valid_jti => Auth::Expired,
            Ok(claims) => match self.accounts.get(&claims.username) {
                Some(account) => Auth::Ok(account.clone()),
                None => Auth::Invalid,
            },
            Err(TokenError::Expired) => Auth::Expired,
            Err(TokenError::Invalid) => Auth::Invalid,
        }
    }

    /// Makes every token issued so far expired; returns how many there were.
    pub fn expire_tokens(&mut self) -> u64 {
        let expired = self.next_jti.saturating_sub(self.min_valid_jti.max(1));
        self.min_valid_jti = self.next_jti;
        expired
    }

    pub fn add_fault(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Takes the first scripted fault for this call, using up one of its `times`.
    pub fn take_fault(&mut self, target: FaultTarget) -> Option<FaultKind> {
        let index = self
            .faults
            .iter()
            .position(|f| f.times > 0 && (f.on == target || f.on == FaultTarget::Any))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(kind)
    }

    pub fn record(&mut self, mut call: Call) {
        call.seq = self.next_call;
        self.next_call += 1;
        self.calls.push(call);
    }

    pub fn store_media(&mut self, mut media: Media, content: bytes::Bytes) -> String {
        let id = self.next_media.to_string();
        self.next_media += 1;
        media.id = id.clone();
        self.media.insert(id.clone(), media);
        self.contents.push_back((id.clone(), content));
        if self.contents.len() > KEPT_CONTENTS {
            self.contents.pop_front();
        }
        id
    }

    pub fn content(&self, id: &str) -> Option<bytes::Bytes> {
        self.contents
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, c)| c.clone())
    }

    pub fn delete_media(&mut self, id: &str, owner: &str) -> bool {
        if self.media.get(id).is_some_and(|m| m.owner == owner) {
            self.media.remove(id);
            self.contents.retain(|(m, _)| m != id);
            true
        } else {
            false
        }
    }

    pub fn reset(&mut self) {
        self.calls.clear();
        self.faults.clear();
        self.media.clear();
        self.contents.clear();
        self.sent.clear();
        self.sent_order.clear();
        self.unsettled.clear();
        self.posted.clear();
    }

    /// Remembers an accepted send; returns its bulk group id.
    pub fn record_send(&mut self, account: &str, to: &str) -> String {
        let group: u128 = rand::random();
        let group_id = format!("{group:032x}");
        let message = SentMessage {
            group_id: group_id.clone(),
            message_id: delivery::random_id("msg_"),
            account: account.to_owned(),
            to: delivery::digits(to),
            at_ms: crate::clock::now_ms(),
        };
        self.sent.insert(group_id.clone(), message);
        self.sent_order.push_back(group_id.clone());
        self.unsettled.insert(group_id.clone());
        while self.sent_order.len() > KEPT_SENDS {
            if let Some(old) = self.sent_order.pop_front() {
                self.sent.remove(&old);
                self.unsettled.remove(&old);
            }
        }
        group_id
    }

    pub fn sent_message(&self, group_id: &str) -> Option<&SentMessage> {
        self.sent.get(group_id)
    }

    pub fn delivery(&self) -> &DeliveryConfig {
        &self.delivery
    }

    pub fn update_delivery(&mut self, update: DeliveryUpdate) -> DeliveryConfig {
        if let Some(v) = update.sent_after_ms {
            self.delivery.sent_after_ms = v;
        }
        if let Some(v) = update.delivered_after_ms {
            self.delivery.delivered_after_ms = v;
        }
        if let Some(list) = update.not_on_whatsapp {
            self.delivery.not_on_whatsapp = list;
        }
        self.delivery = normalised(self.delivery.clone());
        self.delivery.clone()
    }

    /// Sets where events go: for every account, or for one (`None` there stops that account's
    /// events even when a sandbox-wide target is set).
    pub fn set_events_target(&mut self, account: Option<String>, target: Option<Target>) {
        match account {
            Some(account) => {
                self.account_targets.insert(account, target);
            }
            None => self.events_target = target,
        }
    }

    pub fn events_target(&self, account: &str) -> Option<Target> {
        match self.account_targets.get(account) {
            Some(target) => target.clone(),
            None => self.events_target.clone(),
        }
    }

    /// The account a control call names, by username or by API key.
    pub fn account_named(&self, name: &str) -> Option<&Account> {
        self.accounts
            .get(name)
            .or_else(|| self.accounts.values().find(|a| a.api_key == name))
    }

    /// The events of sends that became final by `now_ms`; each send is reported once, and a
    /// send settling while its account has no target is simply not reported.
    pub fn take_settled(&mut self, now_ms: i64) -> Vec<Outgoing> {
        let mut due = Vec::new();
        let mut settled = Vec::new();
        for group_id in &self.unsettled {
            let Some(message) = self.sent.get(group_id) else {
                settled.push(group_id.clone());
                continue;
            };
            let status = delivery::status(message, &self.delivery, now_ms);
            if !status.stage.is_final() {
                continue;
            }
            settled.push(group_id.clone());
            let (Some(target), Some(event)) = (
                self.events_target(&message.account),
                events::settled(message, status),
            ) else {
                continue;
            };
            due.push(Outgoing {
                target,
                account: message.account.clone(),
                event,
            });
        }
        for group_id in settled {
            self.unsettled.remove(&group_id);
        }
        due
    }

    pub fn log_event(&mut self, event: PostedEvent) {
        self.posted.push_back(event);
        while self.posted.len() > KEPT_EVENTS {
            self.posted.pop_front();
        }
    }

    pub fn update_event(&mut self, id: &str, change: impl FnOnce(&mut PostedEvent)) {
        if let Some(e) = self.posted.iter_mut().rev().find(|e| e.event["id"] == id) {
            change(e);
        }
    }

    pub fn posted_events(&self) -> Vec<PostedEvent> {
        self.posted.iter().cloned().collect()
    }
}

/// Numbers compared as digits, whatever spacing or `+` they were given with.
fn normalised(mut config: DeliveryConfig) -> DeliveryConfig {
    config.not_on_whatsapp = config
        .not_on_whatsapp
        .iter()
        .map(|n| delivery::digits(n))
        .filter(|n| !n.is_empty())
        .collect();
    config
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
