"""DRAW and alignDRAW: recurrent variational autoencoders that draw through Gaussian attention."""
