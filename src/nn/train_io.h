/* What `lrlab train` reads and writes: labelled data sets (a dump's /inputs, the
 * Fashion-MNIST IDX files, a Gaussian mixture of src/gen/gmm.h) and the layer dump of a
 * trained network (data/README.md's format, with its calibration activations). */
#ifndef LR_NN_TRAIN_IO_H
#define LR_NN_TRAIN_IO_H

#include <stddef.h>

#include "io/config.h"
#include "nn/train.h"

/* A labelled data set: x (n x dim, row-major doubles) and labels; train first, then test. */
typedef struct lr_dataset {
    size_t dim, classes;
    size_t n_train, n_test;
    double *x;    /* (n_train + n_test) x dim */
    long *labels; /* n_train + n_test */
    size_t shape[3];
    int rank;     /* dimensions per sample (1: a vector, 2: an image H x W) */
    char desc[512];
} lr_dataset;

void lr_dataset_free(lr_dataset *d);

/* A dump's /inputs: the first n_calib samples train, the rest test; at most max_train and
 * max_test of them (0: all). */
int lr_dataset_from_dump(const char *path, size_t max_train, size_t max_test, lr_dataset *out);
/* Fashion-MNIST from dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (or without .gz),
 * pixels / 255 (torchvision's ToTensor), the first max_train and max_test samples (0: all). */
int lr_dataset_fashion(const char *dir, size_t max_train, size_t max_test, lr_dataset *out);
/* A K-class Gaussian mixture (lr_gmm preset gu22 in p dimensions), the samples shuffled out
 * of their class order with the same stream. */
int lr_dataset_gmm(size_t p, size_t K, size_t n_train, size_t n_test, unsigned long seed, lr_dataset *out);

/* The keys of an experiment that trains an MLP on a labelled data set (the lq and lod
 * experiments include them): train.source, train.dir, train.n_train, train.hidden. */
extern const lr_key lr_train_data_schema[];

/* The data set those keys name: the /inputs of the dump of key `dump` (train.source =
 * "dump") or Fashion-MNIST in train.dir, at most train.n_train training and max_test test
 * samples (0: all).  path (cap bytes) receives the file or directory read, sha (72 bytes)
 * the dump's SHA-256 ("" for a directory).  LR_EDATA when either part is empty. */
int lr_dataset_from_config(const lr_config *c, size_t max_test, lr_dataset *out, char *path, size_t cap, char *sha);

/* Write net as a layer dump (format lrlab.layers 1, network = "sequential"): per layer W
 * (factored: V_k U_k^T at the kept rank), b, post (the activation), X and Y of the first
 * n_calib training samples; /inputs with those samples and the test samples and their
 * labels, test_accuracy; /lod/NNN (factored layers: U, V, importance, the kept rank).
 * `attrs` are extra root string attributes as name, value pairs (NULL-terminated).
 * Written to PATH.tmp and renamed. */
int lr_train_write_dump(lr_tnet *net, const lr_dataset *d, size_t n_calib, double test_accuracy,
                        const char *const *attrs, const char *path);

#endif
