//! Cancelling a call, or single files of it (`docs/compat.md §12`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// A cancellation signal for single operations (folder creation).
pub type CancelToken = CancellationToken;

/// Cancels a whole call or single files of it.
#[derive(Clone)]
pub struct Cancel {
    call: CancellationToken,
    files: Arc<Vec<CancellationToken>>,
}

impl Cancel {
    pub fn new(files: usize) -> Cancel {
        let call = CancellationToken::new();
        let files = (0..files).map(|_| call.child_token()).collect();
        Cancel { call, files: Arc::new(files) }
    }

    pub fn cancel(&self) {
        self.call.cancel();
    }

    pub fn cancel_file(&self, index: usize) {
        if let Some(token) = self.files.get(index) {
            token.cancel();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.call.is_cancelled()
    }

    pub(super) fn call(&self) -> &CancellationToken {
        &self.call
    }

    pub(super) fn file(&self, index: usize) -> &CancellationToken {
        &self.files[index]
    }
}
