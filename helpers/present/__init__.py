"""Where figures and generated conclusions are drawn from the numbers the analyses computed: one
module per analysis, one shared style (:mod:`helpers.present.style`)."""
