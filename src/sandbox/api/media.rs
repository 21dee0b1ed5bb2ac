//! Media upload and delete: the multipart checks Buzzbip makes (one `file` field, a type
//! WhatsApp takes, at most 100 MB) and media owned per account.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{apply_fault, authorize, finish, jsend_fail, new_call};
use crate::sandbox::Shared;
use crate::sandbox::model::{FaultTarget, FileInfo, Media};

/// WhatsApp's document limit.
const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

pub(super) async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let mut call = new_call(&req, None, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Upload).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut found: Option<(FileInfo, bytes::Bytes)> = None;
    while let Some(field) = multipart.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(e) => {
                let resp = jsend_fail(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid multipart body: {e}"),
                    Value::Null,
                );
                return finish(&shared, call, resp);
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map(|m| m.essence_str().to_owned());
        let mut content = bytes::BytesMut::new();
        while let Some(chunk) = field.next().await {
            match chunk {
                Ok(c) => content.extend_from_slice(&c),
                Err(e) => {
                    let resp = jsend_fail(
                        StatusCode::BAD_REQUEST,
                        &format!("invalid multipart body: {e}"),
                        Value::Null,
                    );
                    return finish(&shared, call, resp);
                }
            }
            if content.len() as u64 > MAX_UPLOAD_BYTES {
                let resp = jsend_fail(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file is larger than 100 MB",
                    Value::Null,
                );
                return finish(&shared, call, resp);
            }
        }
        if name == "file" && found.is_none() {
            let content = content.freeze();
            let info = FileInfo {
                field: name,
                filename,
                content_type,
                size: content.len() as u64,
                sha256: hex::encode(Sha256::digest(&content)),
            };
            found = Some((info, content));
        }
    }
    let Some((info, content)) = found else {
        let resp = jsend_fail(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            json!({"file": "This value should not be blank."}),
        );
        return finish(&shared, call, resp);
    };
    call.file = Some(info.clone());
    let allowed = matches!(
        info.content_type.as_deref(),
        Some("application/pdf" | "image/jpeg" | "image/png" | "video/mp4")
    );
    if !allowed || info.size == 0 {
        let reason = if info.size == 0 {
            "The file is empty.".to_owned()
        } else {
            format!(
                "The mime type {:?} is not allowed.",
                info.content_type.as_deref().unwrap_or("none")
            )
        };
        let resp = jsend_fail(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            json!({"file": reason}),
        );
        return finish(&shared, call, resp);
    }
    let media = Media {
        id: String::new(),
        owner: account.clone(),
        filename: info.filename.clone(),
        content_type: info.content_type.clone(),
        size: info.size,
        sha256: info.sha256.clone(),
    };
    let id = shared.lock().store_media(media, content);
    let resp = HttpResponse::Ok().json(json!({
        "status": "success",
        "message": "Media uploaded",
        "data": {"media_id": id},
    }));
    finish(&shared, call, resp)
}

pub(super) async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let mut call = new_call(&req, None, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Delete).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let id = path.into_inner();
    let resp = if shared.lock().delete_media(&id, &account) {
        HttpResponse::Ok()
            .json(json!({"status": "success", "message": "Media deleted", "data": null}))
    } else {
        jsend_fail(
            StatusCode::NOT_FOUND,
            &format!("Media {id} not found"),
            Value::Null,
        )
    };
    finish(&shared, call, resp)
}
