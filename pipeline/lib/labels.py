"""The two classes, spelled once: label i is the folder aclImdb/<split>/<FOLDERS[i]>/ and reads NAMES[i]."""

FOLDERS = ("neg", "pos")
NAMES = ("negative", "positive")
