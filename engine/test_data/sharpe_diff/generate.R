# Regenerates the Sharpe-difference fixture (engine/src/abtest/sharpe.rs golden test) with the
# reference implementation: PeerPerformance's `sharpeTesting` (Ardia & Boudt; the asymptotic test
# of Ledoit & Wolf 2008, `type = 1`, `ttype = 1`), run from its source, not copied here.
#   git clone https://github.com/ArdiaD/PeerPerformance   (this fixture: 2.4.0, commit 86a8117)
#   Rscript generate.R /path/to/PeerPerformance            (R 4.2.2 from Debian bookworm)
# Writes returns.csv (the paired returns, 17 significant digits) and expected.json.
args <- commandArgs(trailingOnly = TRUE)
pp <- if (length(args) > 0) args[1] else "PeerPerformance"
source(file.path(pp, "R", "functions.R"))
source(file.path(pp, "R", "sharpeTesting.R"))
set.seed(20261207)
T <- 600
e <- matrix(rnorm(2 * T), T, 2)
x <- numeric(T); y <- numeric(T)
# Autocorrelated, correlated pair (one market, two strategies), so HAC and i.i.d. differ.
for (t in 2:T) {
  x[t] <- 0.25 * x[t - 1] + 0.010 * e[t, 1]
  y[t] <- 0.10 * y[t - 1] + 0.008 * (0.6 * e[t, 1] + 0.8 * e[t, 2])
}
x <- x + 0.0016; y <- y - 0.0002
write.csv(data.frame(a = sprintf("%.17g", x), b = sprintf("%.17g", y)), "returns.csv",
          row.names = FALSE, quote = FALSE)
one <- function(hac) {
  r <- sharpeTesting(x, y, control = list(type = 1, hac = hac, ttype = 1))
  sprintf('{"sharpe_a": %.17g, "sharpe_b": %.17g, "diff": %.17g, "t_stat": %.17g, "p_value": %.17g}',
          r$sharpe[1], r$sharpe[2], r$dsharpe, r$tstat, r$pval)
}
writeLines(sprintf('{\n  "reference": "PeerPerformance 2.4.0 sharpeTesting(type = 1, ttype = 1), R 4.2.2",\n  "hac": %s,\n  "iid": %s\n}', one(TRUE), one(FALSE)), "expected.json")
