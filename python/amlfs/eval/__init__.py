"""Evaluation metrics: classification top-1; re-ID CMC/mAP and k-reciprocal re-ranking; face verification
(the LFW k-fold protocol, TAR@FAR) and MegaFace-style rank-1 identification from feature files."""
from .classification import ClassificationMetrics, top1_accuracy
from .face_identification import IdentificationResult, best_distractor_scores, identification_rank1
from .face_verification import (FLIP_COMBINATIONS, TarAtFar, VerificationResult, accuracy_at_threshold,
                                best_threshold, combine_flip, contiguous_fold_ids, evaluate_verification,
                                pair_cosine_similarity, tar_at_far)
from .megaface_features import (FeatureList, iter_feature_chunks, read_feature_file, read_feature_list,
                                read_list_file, write_feature_file)
from .reid_metrics import ReidMetrics, evaluate_reid, pairwise_distance
from .rerank import rerank, rerank_features

__all__ = ["ClassificationMetrics", "top1_accuracy", "ReidMetrics", "evaluate_reid", "pairwise_distance",
           "rerank", "rerank_features", "FLIP_COMBINATIONS", "TarAtFar", "VerificationResult",
           "accuracy_at_threshold", "best_threshold", "combine_flip", "contiguous_fold_ids", "evaluate_verification",
           "pair_cosine_similarity", "tar_at_far", "IdentificationResult", "best_distractor_scores",
           "identification_rank1", "FeatureList", "iter_feature_chunks", "read_feature_file", "read_feature_list",
           "read_list_file", "write_feature_file"]
