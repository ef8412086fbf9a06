// Types of `aem-upload-rs/src/constants` (= `@adobe/aem-upload/src/constants`).

export declare const DefaultValues: {
  MAX_CONCURRENT: number;
  RETRY_COUNT: number;
  RETRY_DELAY: number;
  REQUEST_TIMEOUT: number;
  MAX_FILE_UPLOAD: number;
};

export declare const RegularExpressions: {
  INVALID_CHARACTERS_REGEX: RegExp;
  INVALID_FOLDER_CHARACTERS_REGEX: RegExp;
  INVALID_ASSET_CHARACTERS_REGEX: RegExp;
};

export declare const HttpMethods: {
  POST: 'POST';
};
