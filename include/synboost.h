/*
 * synboost — C ABI of libsynboost.so.
 *
 * This header grows with the library; until the streaming API lands it declares the version
 * query. It is checked against the Rust code in CI.
 */
#ifndef SYNBOOST_H
#define SYNBOOST_H

#ifdef __cplusplus
extern "C" {
#endif

/** Library version as a static NUL-terminated string ("0.1.0"); never NULL, never freed. */
const char *sb_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SYNBOOST_H */
