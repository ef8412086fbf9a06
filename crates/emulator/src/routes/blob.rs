//! Part PUTs to presigned URLs on the blob origin (docs/protocol.md §2, §7): Azure
//! "Put Block" semantics, streamed into the upload's part store.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, COOKIE};
use hyper::Method;

use super::{inject_before, unix_now};
use crate::config::FaultRoute;
use crate::context::{Context, ViolationKind};
use crate::faults::Fault;
use crate::http::{self, content_length, header_str, Outcome, Pacer, Request, Response};
use crate::signing::UrlCheck;
use crate::storage::PutError;

fn azure_error(status: u16, code: &str, message: &str) -> Response {
    http::response(
        status,
        Some("application/xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    if req.method() != Method::PUT {
        // The SAS is write-only: reads are refused, as Azure does.
        return azure_error(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )
        .into();
    }
    let path = req.uri().path().to_string();
    let url = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let check = ctx.signer.check_part_url(&path, req.uri().query(), unix_now());

    // A stable fault key: the target asset and part index, not the random upload id.
    let (upload_id, index) = match &check {
        UrlCheck::Valid { upload_id, index } | UrlCheck::Expired { upload_id, index } => {
            (Some(upload_id.clone()), *index)
        }
        UrlCheck::BadSignature(_) => (None, 0),
    };
    let parts = upload_id.as_ref().and_then(|id| {
        let dam = ctx.dam.lock().unwrap();
        dam.uploads.get(id).map(|u| (u.path.clone(), Arc::clone(&u.parts)))
    });
    let key = match &parts {
        Some((asset, _)) => format!("{asset}#{index}"),
        None => path.clone(),
    };
    let decision = ctx.decide(FaultRoute::Part, &key);
    if let Some(outcome) = inject_before(&decision, Some(req.body_mut())).await {
        return outcome;
    }

    let sent: Vec<&str> = [AUTHORIZATION.as_str(), COOKIE.as_str(), "x-api-key"]
        .into_iter()
        .filter(|h| req.headers().contains_key(*h))
        .collect();
    if !sent.is_empty() {
        let detail = format!("{} sent to a presigned URL", sent.join(", "));
        if let Err(refusal) = ctx.violation(ViolationKind::CredentialsToBlob, "PUT", &path, detail) {
            http::drain(req.body_mut(), None).await;
            return refusal.into();
        }
    }

    match check {
        UrlCheck::BadSignature(why) => {
            let _ = ctx.violation(ViolationKind::BadSignature, "PUT", &path, why);
            http::drain(req.body_mut(), None).await;
            return azure_error(403, "AuthenticationFailed", "Server failed to authenticate the request.").into();
        }
        UrlCheck::Expired { .. } => {
            let reused = !ctx.dam.lock().unwrap().expired_refused.insert(url);
            if reused {
                let _ = ctx.violation(
                    ViolationKind::ExpiredUrlReused,
                    "PUT",
                    &path,
                    format!("part {index} URL was already refused as expired"),
                );
            }
            http::drain(req.body_mut(), None).await;
            return azure_error(403, "AuthenticationFailed", "Signed expiry time has passed.").into();
        }
        UrlCheck::Valid { .. } => {}
    }

    let declared = content_length(req.headers());
    if declared.is_none() {
        let detail = format!("part {index} sent without Content-Length");
        if let Err(refusal) = ctx.violation(ViolationKind::NoContentLength, "PUT", &path, detail) {
            http::drain(req.body_mut(), None).await;
            return refusal.into();
        }
    }
    let md5 = match header_str(req.headers(), "content-md5") {
        None => None,
        Some(value) => match STANDARD.decode(value.trim()).ok().and_then(|b| <[u8; 16]>::try_from(b).ok()) {
            Some(digest) => Some(digest),
            None => {
                let _ = ctx.violation(ViolationKind::Md5Mismatch, "PUT", &path, "Content-MD5 is not a base64 MD5");
                http::drain(req.body_mut(), None).await;
                return azure_error(
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format.",
                )
                .into();
            }
        },
    };

    let Some((_, parts)) = parts else {
        // The upload was completed or never existed: Azure keeps such blocks
        // uncommitted, and nothing will commit them.
        http::drain(req.body_mut(), None).await;
        return http::no_content(201).into();
    };
    let mut writer = match parts.begin_when_room(index, declared, md5).await {
        Ok(writer) => writer,
        Err(e) => return azure_error(500, "InternalError", &e.to_string()).into(),
    };
    let cut_at = match decision.fault {
        Some(Fault::ResetMid) => Some(declared.unwrap_or(2) / 2),
        _ => None,
    };
    let mut pacer = ctx.limits.blob_rate(&ctx.config(), decision.slow_bytes_per_second).map(Pacer::new);
    let body = req.body_mut();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Outcome::Reset };
        let Ok(data) = frame.into_data() else { continue };
        let data = match cut_at {
            Some(cut) if writer.written() + data.len() as u64 >= cut => {
                let keep = (cut - writer.written()) as usize;
                let _ = writer.write(&data[..keep]);
                return Outcome::Reset;
            }
            _ => data,
        };
        let len = data.len();
        if let Err(PutError::LengthMismatch { .. }) = writer.write_bytes(data) {
            return Outcome::Reset;
        }
        if let Some(p) = pacer.as_mut() {
            p.pace(len).await;
        }
    }
    match writer.commit() {
        Ok(()) => {
            let mut response = http::no_content(201);
            response.headers_mut().insert(CONTENT_LENGTH, 0.into());
            response.into()
        }
        Err(PutError::Md5Mismatch) => {
            let _ = ctx.violation(
                ViolationKind::Md5Mismatch,
                "PUT",
                &path,
                format!("part {index} Content-MD5 does not match its body"),
            );
            azure_error(
                400,
                "Md5Mismatch",
                "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
            )
            .into()
        }
        Err(PutError::LengthMismatch { expected, received }) => {
            http::text(400, format!("Body of {received} bytes does not match Content-Length {expected}")).into()
        }
        Err(PutError::Io(e)) => azure_error(500, "InternalError", &e.to_string()).into(),
    }
}
