"""Analysis: reads run directories only; never imports training code, so reports run anywhere."""
