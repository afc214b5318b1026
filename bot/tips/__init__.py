"""Anonymous tip-offs: codes and PINs, the sealed way back to the tipster, clean photos,
de-identification hints. Nothing here stores or logs who a tipster is."""
