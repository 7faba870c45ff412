//! What a cursor expects to read next, and what kind of message it became:
//! each names its sentence key and the context its fields are explained in.

use crate::trace::explain::Context;

/// What is expected at a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum What {
    Request,
    LoginReply,
    DownloadReply,
    Listing,
    UploadReply,
    UploadSize,
    FinalStatus,
    ResumeReply,
    MGetReply,
    Entry,
    Refusal,
    Reply,
}

impl What {
    /// Its name in the sentence tables (`what.listing`: "the listing").
    pub(super) fn key(self) -> &'static str {
        match self {
            What::Request => "what.request",
            What::LoginReply => "what.login_reply",
            What::DownloadReply => "what.download_reply",
            What::Listing => "what.listing",
            What::UploadReply => "what.upload_reply",
            What::UploadSize => "what.upload_size",
            What::FinalStatus => "what.final_status",
            What::ResumeReply => "what.resume_reply",
            What::MGetReply => "what.mget_reply",
            What::Entry => "what.entry",
            What::Refusal => "what.refusal",
            What::Reply => "what.reply",
        }
    }

    /// Where its fields sit, for the fields whose meaning depends on it.
    pub(super) fn context(self) -> Context {
        match self {
            What::LoginReply => Context::Auth,
            What::Listing => Context::List,
            What::UploadReply => Context::UploadFirst,
            What::FinalStatus => Context::UploadFinal,
            What::ResumeReply => Context::Resume,
            What::MGetReply => Context::MGet,
            What::Entry => Context::Entry,
            // The reply to a second login can only refuse it.
            What::Refusal | What::Reply => Context::Refusal,
            // Requests, sizes and bodies read the same anywhere.
            What::Request | What::DownloadReply | What::UploadSize => Context::Download,
        }
    }
}

/// What a decoded message is, as the transcript's `kind` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Request,
    Reply,
    Body,
    Entry,
    UploadSize,
    FinalStatus,
    Malformed,
}

impl Kind {
    /// The transcript's word for it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Reply => "reply",
            Kind::Body => "body",
            Kind::Entry => "entry",
            Kind::UploadSize => "upload size",
            Kind::FinalStatus => "final status",
            Kind::Malformed => "malformed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::What;
    use crate::trace::text::localized;

    #[test]
    fn every_expected_thing_has_its_words() {
        let all = [
            What::Request,
            What::LoginReply,
            What::DownloadReply,
            What::Listing,
            What::UploadReply,
            What::UploadSize,
            What::FinalStatus,
            What::ResumeReply,
            What::MGetReply,
            What::Entry,
            What::Refusal,
            What::Reply,
        ];
        for what in all {
            for portuguese in [false, true] {
                assert_ne!(localized(what.key(), portuguese, &[]), what.key());
            }
        }
    }
}
