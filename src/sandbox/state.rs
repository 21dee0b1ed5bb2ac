//! What the sandbox remembers: accounts, templates, media, issued tokens, scripted faults and
//! every call it received.

use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use super::SandboxConfig;
use super::jwt::{self, Claims, TokenError};
use super::model::{Account, Call, Fault, FaultKind, FaultTarget, Media, Template};

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
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
