import Hummingbird; import GRDB
