/** The version of this integration server, sent in the Submit Event `User-Agent` by default. */
export const VERSION = "0.1.0";
