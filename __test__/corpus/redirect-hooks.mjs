const FROM = '@adobe/aem-upload';

export async function resolve(specifier, context, next) {
  if (specifier === FROM || specifier.startsWith(`${FROM}/`)) {
    return next(`aem-upload-rs${specifier.slice(FROM.length)}`, context);
  }
  return next(specifier, context);
}
