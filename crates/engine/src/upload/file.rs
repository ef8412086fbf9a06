//! One file from its initiate answer to its terminal event: its parts (with
//! up to two fresh initiates when blob storage refuses its URLs), the check
//! that its source did not change, and its complete.

use std::sync::Arc;
use std::time::Instant;

use crate::events::LogLevel;
use crate::plan::PartPlan;
use crate::protocol::FileInit;
use crate::source::OpenSource;
use crate::{Error, ErrorCode};

use super::complete::complete;
use super::context::Context;
use super::initiate;
use super::parts::{self, PartsError};

/// Fresh initiates per file after its part URLs were refused (`docs/compat.md §2.3`).
const REINITIATES: u32 = 2;

pub(super) async fn transfer(ctx: Arc<Context>, index: usize, mut init: FileInit) {
    let ctx = &*ctx;
    let cancel = ctx.cancel.file(index).clone();
    let name = ctx.target_name(index);
    let file = &ctx.files[index];
    ctx.want_source(index);
    let open = match OpenSource::open_prevalidated(&file.source, name, file.size, &ctx.policy(), &cancel).await {
        Ok(open) => open,
        Err(error) => return ctx.fail(index, error, Some(init.mime_type)),
    };
    let started = Instant::now();
    let mut reinitiated = 0;
    loop {
        let plan = match PartPlan::new(file.size, init.uris.len(), init.min_part_size, init.max_part_size) {
            Ok(plan) => plan,
            Err(error) => return ctx.fail(index, error, Some(init.mime_type)),
        };
        match parts::put_all(ctx, index, &open, &plan, &init, &cancel).await {
            Ok(()) => break,
            Err(PartsError::Refused) if reinitiated < REINITIATES && !cancel.is_cancelled() => {
                reinitiated += 1;
                ctx.log(LogLevel::Warn, format!("Part URLs of '{name}' were refused; initiating again"));
                init = match initiate::again(ctx, index).await {
                    Ok(fresh) => fresh,
                    Err(error) => return ctx.fail(index, error, Some(init.mime_type)),
                };
            }
            Err(PartsError::Refused) => return ctx.fail(index, Error::http_status(403), Some(init.mime_type)),
            Err(PartsError::Failed(error)) => return ctx.fail(index, error, Some(init.mime_type)),
        }
    }
    if let Err(error) = open.check_unchanged().await {
        return ctx.fail(index, error, Some(init.mime_type));
    }
    if cancel.is_cancelled() {
        return ctx.cancelled(index, Some(init.mime_type));
    }
    let duration = started.elapsed().as_millis();
    ctx.journal_completing(index);
    match complete(ctx, index, &init, duration, &cancel).await {
        Ok(()) => {
            ctx.journal_completed(index, &init.mime_type);
            ctx.end(index, init.mime_type)
        }
        Err(error) if error.code() == ErrorCode::AlreadyExists && ctx.completed_before(index) => {
            ctx.log(LogLevel::Info, format!("'{name}' exists: the complete an earlier run sent had landed (journal)"));
            ctx.journal_completed(index, &init.mime_type);
            ctx.end(index, init.mime_type)
        }
        Err(error) => ctx.fail(index, error, Some(init.mime_type)),
    }
}
