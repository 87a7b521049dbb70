/** The SDK's version (package.json's), sent in the User-Agent header. */
export const VERSION = "0.1.0";
