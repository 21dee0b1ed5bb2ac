//! The console's static files, compiled into the binary: the stylesheet, its few lines of
//! script and the vendored htmx (`assets/htmx.LICENSE`). Each is served under a name carrying
//! a hash of its bytes (`console-1a2b3c4d.css`), so it can be cached for a year and a new
//! build is fetched at once.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

struct Asset {
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: [Asset; 3] = [
    Asset {
        stem: "console",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("assets/console.css"),
    },
    Asset {
        stem: "console",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/console.js"),
    },
    Asset {
        stem: "htmx",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/htmx.min.js"),
    },
];

/// Each file's served name, in `FILES` order.
static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|a| {
            let hash = hex::encode(&Sha256::digest(a.bytes)[..4]);
            format!("{}-{hash}.{}", a.stem, a.ext)
        })
        .collect()
});

fn url(index: usize) -> String {
    format!("/console/assets/{}", NAMES[index])
}

/// The stylesheet's URL.
pub fn css() -> String {
    url(0)
}

/// The console's own script (the copy buttons).
pub fn script() -> String {
    url(1)
}

pub fn htmx() -> String {
    url(2)
}

/// `GET /console/assets/{name}`: a current name gets its file, cached for a year.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("name").unwrap_or("");
    match NAMES.iter().position(|n| n == name) {
        Some(i) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, FILES[i].content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(FILES[i].bytes),
        None => HttpResponse::NotFound()
            .content_type(header::ContentType::plaintext())
            .body("no such console asset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_hash_of_the_bytes() {
        assert!(css().starts_with("/console/assets/console-") && css().ends_with(".css"));
        assert!(htmx().starts_with("/console/assets/htmx-") && htmx().ends_with(".js"));
        assert_ne!(script(), htmx());
        assert!(
            std::str::from_utf8(FILES[2].bytes)
                .unwrap()
                .contains("htmx")
        );
    }
}
