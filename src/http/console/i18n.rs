//! The console's words in English, French and Arabic. A text is a [`Key`] variant, and each
//! language is an exhaustive `match` over them: a key missing in one language does not compile.
//! Adding a text: a variant in `Key`, an arm in each of `en`, `fr` and `ar`.
//!
//! The language of a request: `?lang=` (the switch, remembered in a cookie by the console's
//! middleware), else that cookie, else `Accept-Language` by its q-values, else English.

use actix_web::HttpRequest;
use actix_web::http::header;

/// The cookie remembering the language switch.
pub const LANG_COOKIE: &str = "shopbip_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Ar];

    /// The BCP 47 tag, for `<html lang>` and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ar => "العربية",
        }
    }

    pub fn rtl(self) -> bool {
        self == Lang::Ar
    }

    /// `<html dir>`.
    pub fn dir(self) -> &'static str {
        if self.rtl() { "rtl" } else { "ltr" }
    }

    /// A language tag (`fr`, `fr-CA`, `AR`) read as one of ours.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The request's language: `?lang=`, the cookie, `Accept-Language`, English.
    pub fn of(req: &HttpRequest) -> Lang {
        switch(req.query_string())
            .or_else(|| req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())))
            .or_else(|| {
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(from_accept_language)
            })
            .unwrap_or_default()
    }

    /// The text of `key` in this language.
    pub fn t(self, key: Key) -> &'static str {
        match self {
            Lang::En => en(key),
            Lang::Fr => fr(key),
            Lang::Ar => ar(key),
        }
    }
}

/// The language a `?lang=` in this query string asks for.
pub fn switch(query: &str) -> Option<Lang> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// The best of our languages by an `Accept-Language` value: highest q first, the header's
/// order among equals; `q=0` means "not this"; a malformed entry is skipped. Only the first
/// 32 entries are read (the header is the client's text).
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for entry in value.split(',').take(32) {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = Some(1000u16);
        for param in parts {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            if k.trim().eq_ignore_ascii_case("q") {
                q = quality(v.trim());
            }
        }
        let (Some(q), Some(lang)) = (q, Lang::parse(tag)) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// An RFC 9110 qvalue (`0`, `0.8`, `1.000`) in thousandths.
fn quality(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

/// Every text of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Console,
    NavOverview,
    NavMessages,
    NavInvoicePreview,
    Language,
    Logout,
    SignedInAs,
    RoleOperator,
    RoleViewer,
    // Login.
    LoginTitle,
    UserName,
    Password,
    SignIn,
    LoginFailed,
    TooManyAttemptsTitle,
    TooManyAttemptsText,
    // Errors.
    NotFoundTitle,
    NotFoundText,
    ForbiddenTitle,
    ForbiddenText,
    ReadOnlyText,
    UnavailableTitle,
    UnavailableText,
    BadRequestTitle,
    BackToOverview,
    // Stores overview.
    StoresTitle,
    NoStores,
    Store,
    Platform,
    Environment,
    WebhookUrl,
    WebhookUrlHelp,
    Copy,
    Copied,
    LastWebhook,
    LastSend,
    Refusals24h,
    JobsByState,
    DeadJobs,
    Never,
    Status,
    AllGood,
    TroubleRefusalsRising,
    TroubleDeadJobs,
    TroubleSilent,
    StateQueued,
    StateRunning,
    StateDone,
    StateSkipped,
    StateDead,
    /// The message pages' and the invoice preview's words (`words.rs`).
    Msg(super::words::W),
}

fn en(key: Key) -> &'static str {
    use Key::*;
    match key {
        Console => "shopbip console",
        NavOverview => "Overview",
        NavMessages => "Messages",
        NavInvoicePreview => "Invoice preview",
        Language => "Language",
        Logout => "Log out",
        SignedInAs => "Signed in as",
        RoleOperator => "operator",
        RoleViewer => "viewer",
        LoginTitle => "Sign in",
        UserName => "Name",
        Password => "Password",
        SignIn => "Sign in",
        LoginFailed => "Wrong name or password.",
        TooManyAttemptsTitle => "Too many attempts",
        TooManyAttemptsText => {
            "Too many failed sign-ins for this name or from this address. Wait 15 minutes, then try again."
        }
        NotFoundTitle => "Not found",
        NotFoundText => "There is nothing here, or nothing you may see.",
        ForbiddenTitle => "Refused",
        ForbiddenText => {
            "This form has expired or did not come from the console: nothing was done. Go back, reload the page and try again."
        }
        ReadOnlyText => "Your account is read-only: only an operator can do this.",
        UnavailableTitle => "Unavailable",
        UnavailableText => "The database does not answer. Try again in a moment.",
        BadRequestTitle => "Bad request",
        BackToOverview => "Back to the overview",
        StoresTitle => "Stores",
        NoStores => "No store to show.",
        Store => "Store",
        Platform => "Platform",
        Environment => "Environment",
        WebhookUrl => "Webhook URL",
        WebhookUrlHelp => "Paste it into the platform's webhook settings.",
        Copy => "Copy",
        Copied => "Copied",
        LastWebhook => "Last webhook",
        LastSend => "Last send",
        Refusals24h => "Signature refusals (24 h)",
        JobsByState => "Jobs",
        DeadJobs => "Dead jobs",
        Never => "never",
        Status => "Status",
        AllGood => "OK",
        TroubleRefusalsRising => "signature refusals rising (a rotated secret?)",
        TroubleDeadJobs => "dead jobs",
        TroubleSilent => "no webhook for a day",
        StateQueued => "queued",
        StateRunning => "running",
        StateDone => "done",
        StateSkipped => "skipped",
        StateDead => "dead",
        Msg(w) => super::words::en(w),
    }
}

fn fr(key: Key) -> &'static str {
    use Key::*;
    match key {
        Console => "console shopbip",
        NavOverview => "Vue d’ensemble",
        NavMessages => "Messages",
        NavInvoicePreview => "Aperçu de facture",
        Language => "Langue",
        Logout => "Se déconnecter",
        SignedInAs => "Connecté en tant que",
        RoleOperator => "opérateur",
        RoleViewer => "lecteur",
        LoginTitle => "Connexion",
        UserName => "Nom",
        Password => "Mot de passe",
        SignIn => "Se connecter",
        LoginFailed => "Nom ou mot de passe incorrect.",
        TooManyAttemptsTitle => "Trop de tentatives",
        TooManyAttemptsText => {
            "Trop de connexions échouées pour ce nom ou depuis cette adresse. Attendez 15 minutes, puis réessayez."
        }
        NotFoundTitle => "Introuvable",
        NotFoundText => "Il n’y a rien ici, ou rien que vous puissiez voir.",
        ForbiddenTitle => "Refusé",
        ForbiddenText => {
            "Ce formulaire a expiré ou ne vient pas de la console : rien n’a été fait. Revenez en arrière, rechargez la page et réessayez."
        }
        ReadOnlyText => "Votre compte est en lecture seule : seul un opérateur peut faire cela.",
        UnavailableTitle => "Indisponible",
        UnavailableText => "La base de données ne répond pas. Réessayez dans un instant.",
        BadRequestTitle => "Requête invalide",
        BackToOverview => "Retour à la vue d’ensemble",
        StoresTitle => "Boutiques",
        NoStores => "Aucune boutique à afficher.",
        Store => "Boutique",
        Platform => "Plateforme",
        Environment => "Environnement",
        WebhookUrl => "URL du webhook",
        WebhookUrlHelp => "À coller dans les réglages de webhook de la plateforme.",
        Copy => "Copier",
        Copied => "Copié",
        LastWebhook => "Dernier webhook",
        LastSend => "Dernier envoi",
        Refusals24h => "Signatures refusées (24 h)",
        JobsByState => "Tâches",
        DeadJobs => "Tâches mortes",
        Never => "jamais",
        Status => "État",
        AllGood => "OK",
        TroubleRefusalsRising => "signatures refusées en hausse (secret changé ?)",
        TroubleDeadJobs => "tâches mortes",
        TroubleSilent => "aucun webhook depuis un jour",
        StateQueued => "en attente",
        StateRunning => "en cours",
        StateDone => "envoyé",
        StateSkipped => "ignoré",
        StateDead => "mort",
        Msg(w) => super::words::fr(w),
    }
}

fn ar(key: Key) -> &'static str {
    use Key::*;
    match key {
        Console => "وحدة تحكم shopbip",
        NavOverview => "نظرة عامة",
        NavMessages => "الرسائل",
        NavInvoicePreview => "معاينة الفاتورة",
        Language => "اللغة",
        Logout => "تسجيل الخروج",
        SignedInAs => "متصل باسم",
        RoleOperator => "مشغّل",
        RoleViewer => "مُطّلع",
        LoginTitle => "تسجيل الدخول",
        UserName => "الاسم",
        Password => "كلمة المرور",
        SignIn => "دخول",
        LoginFailed => "الاسم أو كلمة المرور غير صحيحة.",
        TooManyAttemptsTitle => "محاولات كثيرة",
        TooManyAttemptsText => {
            "محاولات دخول فاشلة كثيرة لهذا الاسم أو من هذا العنوان. انتظر 15 دقيقة ثم أعد المحاولة."
        }
        NotFoundTitle => "غير موجود",
        NotFoundText => "لا يوجد شيء هنا، أو لا شيء يحق لك رؤيته.",
        ForbiddenTitle => "مرفوض",
        ForbiddenText => {
            "انتهت صلاحية هذا النموذج أو لم يأتِ من وحدة التحكم: لم يُنفَّذ أي شيء. ارجع وأعد تحميل الصفحة ثم حاول مجددًا."
        }
        ReadOnlyText => "حسابك للقراءة فقط: هذا الإجراء للمشغّل وحده.",
        UnavailableTitle => "غير متاح",
        UnavailableText => "قاعدة البيانات لا تجيب. أعد المحاولة بعد قليل.",
        BadRequestTitle => "طلب غير صالح",
        BackToOverview => "العودة إلى النظرة العامة",
        StoresTitle => "المتاجر",
        NoStores => "لا يوجد متجر لعرضه.",
        Store => "المتجر",
        Platform => "المنصة",
        Environment => "البيئة",
        WebhookUrl => "رابط الويب هوك",
        WebhookUrlHelp => "الصقه في إعدادات الويب هوك على المنصة.",
        Copy => "نسخ",
        Copied => "تم النسخ",
        LastWebhook => "آخر ويب هوك",
        LastSend => "آخر إرسال",
        Refusals24h => "توقيعات مرفوضة (24 ساعة)",
        JobsByState => "المهام",
        DeadJobs => "مهام متوقفة",
        Never => "أبدًا",
        Status => "الحالة",
        AllGood => "سليم",
        TroubleRefusalsRising => "التوقيعات المرفوضة في ازدياد (هل تغيّر السر؟)",
        TroubleDeadJobs => "مهام متوقفة",
        TroubleSilent => "لا ويب هوك منذ يوم",
        StateQueued => "في الانتظار",
        StateRunning => "قيد التنفيذ",
        StateDone => "أُرسلت",
        StateSkipped => "تم تخطيها",
        StateDead => "متوقفة",
        Msg(w) => super::words::ar(w),
    }
}

/// A job state's word.
pub fn state_key(state: crate::jobs::JobState) -> Key {
    use crate::jobs::JobState::*;
    match state {
        Queued => Key::StateQueued,
        Running => Key::StateRunning,
        Done => Key::StateDone,
        Skipped => Key::StateSkipped,
        Dead => Key::StateDead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_quality_we_speak() {
        assert_eq!(
            from_accept_language("fr-CA,fr;q=0.9,en;q=0.8"),
            Some(Lang::Fr)
        );
        assert_eq!(
            from_accept_language("de, ar;q=0.5, fr;q=0.4"),
            Some(Lang::Ar)
        );
        assert_eq!(from_accept_language("en;q=0.2, ar;q=0.9"), Some(Lang::Ar));
        // Equal q: the header's order.
        assert_eq!(from_accept_language("fr;q=0.5, ar;q=0.5"), Some(Lang::Fr));
        // q=0 refuses a language; malformed entries are skipped.
        assert_eq!(from_accept_language("ar;q=0, fr;q=0.1"), Some(Lang::Fr));
        assert_eq!(
            from_accept_language("fr;q=2, ar;q=abc, en;q=0.3"),
            Some(Lang::En)
        );
        assert_eq!(from_accept_language("*, de"), None);
        assert_eq!(from_accept_language(""), None);
        assert_eq!(from_accept_language("FR"), Some(Lang::Fr));
        assert_eq!(from_accept_language(&"x,".repeat(10_000)), None);
    }

    #[test]
    fn qvalues_are_read_in_thousandths() {
        assert_eq!(quality("1"), Some(1000));
        assert_eq!(quality("1.000"), Some(1000));
        assert_eq!(quality("0.8"), Some(800));
        assert_eq!(quality("0.05"), Some(50));
        assert_eq!(quality("0"), Some(0));
        for bad in ["1.5", "2", "0.0001", "-1", "", ".5", "0.a"] {
            assert_eq!(quality(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_switch_reads_lang_from_the_query() {
        assert_eq!(switch("lang=ar"), Some(Lang::Ar));
        assert_eq!(switch("state=dead&lang=fr"), Some(Lang::Fr));
        assert_eq!(switch("lang=xx"), None);
        assert_eq!(switch(""), None);
    }

    #[test]
    fn every_language_has_every_text() {
        // Exhaustive matches make a missing arm a compile error; this catches an empty one.
        for lang in Lang::ALL {
            for key in [Key::Console, Key::LoginFailed, Key::TroubleSilent] {
                assert!(!lang.t(key).is_empty(), "{lang:?} {key:?}");
            }
        }
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::Fr.dir(), "ltr");
    }
}
