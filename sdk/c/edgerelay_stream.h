/*
 * edgerelay_stream.h — inside the C SDK only: what edgerelay.c's er_stream
 * export asks of edgerelay_stream.c. Plugins include edgerelay.h alone.
 */
#ifndef EDGERELAY_STREAM_H
#define EDGERELAY_STREAM_H

#include "edgerelay.h"

/* er__told_begin starts a request's told refs; they carry the returned
 * generation. */
uint32_t er__told_begin(void);
/* er__told keeps a copy of ref's labels; non-zero when out of memory. */
int er__told(uint32_t ref, const er_series *ls, uint32_t gen);
/* er__forget_all_but forgets the labels of every ref not told in gen. */
void er__forget_all_but(uint32_t gen);
/* er__stream_reset empties what the plugin declared, retired and emitted. */
void er__stream_reset(void);
/* er__stream_put appends them in the StreamResponse layout after the kept
 * samples (declared, retired, samples of new series); non-zero when out of
 * memory. */
int er__stream_put(void (*put)(const void *b, uint32_t n));

#endif
