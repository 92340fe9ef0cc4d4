"""Host side: data, the triplet embedder, the SVM, evaluation. Imports neither edge nor convert."""
