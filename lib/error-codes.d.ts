// Types of `aem-upload-rs/src/error-codes` (= `@adobe/aem-upload/src/error-codes`).
import { DirectBinaryUploadErrorCodes } from '../index';

declare const ErrorCodes: typeof DirectBinaryUploadErrorCodes;
export = ErrorCodes;
