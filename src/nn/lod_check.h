/* The known answers of LoD's linear recovery problems and the measures that compare a
 * trained factored layer with them (docs/theory.md section 6; experiments/lod.c).
 *
 * A linear layer trained by LoD on centred data X (n x d, rows = samples) and targets Y
 * (n x m) minimises, for every b, the expected squared loss of its first b components; the
 * minimiser of ||Y - X W_b^T||_F^2 over rank-b maps W_b (m x d, PyTorch's layout) is
 *
 *     W_b = [C S^{-1/2}]_b S^{-1/2},   S = X^T X / n,  C = Y^T X / n
 *
 * (the data-driven solution of docs/theory.md section 2 with the empirical covariance S:
 * isotropic S = I gives the truncated SVDs of C, an autoencoder Y = X gives P_b P_b^T, the
 * projection on the top-b principal subspace).  With B = C S^{-1/2} = P diag(s) Q^T (SVD),
 * W_b = P_b diag(s_b) R_b with R = Q^T S^{-1/2}: W_b's column space is span(P_b), its row
 * space span(S^{-1/2} Q_b), and both are nested in b, which is what LoD's ordering recovers.
 *
 * Subspaces are compared by the sine of their largest principal angle (Golub and Van Loan,
 * Matrix Computations, 4th ed., section 6.4.3): with orthonormal bases Q1, Q2 of equal
 * dimension, sin theta_max = ||(I - Q2 Q2^T) Q1||_2, computed this way (not from the cosines
 * sigma_min(Q1^T Q2)) because it keeps its relative accuracy at angles near 1e-8. */
#ifndef LR_NN_LOD_CHECK_H
#define LR_NN_LOD_CHECK_H

#include <stddef.h>

typedef struct lr_lod_truth {
    size_t d, m, r;
    double *P;  /* m x r: left singular vectors of B (column space of every W_b) */
    double *s;  /* r: singular values of B */
    double *R;  /* r x d: Q^T S^{-1/2}, so W_b = P_b diag(s_b) R_b */
    double *Qr; /* d x r: orthonormal bases of the row spaces, nested: first b columns span W_b's */
} lr_lod_truth;

/* The truth of the data (X n x d, Y n x m, both centred; rank r <= min(m, d)).  LR_ENUMERIC
 * with a message when S is singular (its smallest eigenvalue below 1e-12 of its largest) or
 * B's singular values s_r and s_{r+1} are not separated (the nested answer is not unique). */
int lr_lod_truth_compute(const double *X, const double *Y, size_t n, size_t d, size_t m, size_t r, lr_lod_truth *t);
void lr_lod_truth_free(lr_lod_truth *t);
/* W_b (m x d, row-major) of the truth. */
void lr_lod_truth_map(const lr_lod_truth *t, size_t b, double *W);

/* Q (rows x b, row-major): an orthonormal basis of the span of the first b columns of M
 * (rows x ld, row-major), by Householder QR.  LR_ENUMERIC when those columns are rank deficient
 * (a zero diagonal of R). */
int lr_lod_orth(const double *M, size_t rows, size_t ld, size_t b, double *Q);
/* sin of the largest principal angle between span(Q1) and span(Q2) (both rows x b,
 * orthonormal columns, row-major); NAN when the SVD fails. */
double lr_lod_sin_max(const double *Q1, const double *Q2, size_t rows, size_t b);

#endif
