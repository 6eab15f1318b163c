import os


class Store:
    def __init__(self, root):
        self.root = root

    @staticmethod
    def load(path):
        with open(path) as fh:
            data = fh.read()
        return data.strip()


def top():
    return os.getcwd()
