//! The sentences of TLS conversations, in English and in Portuguese; read
//! with the decoder's other sentences by `text::say`.

/// English.
pub(crate) static EN: &[(&str, &str)] = &[
    // Fields.
    (
        "tls.field.content_type",
        "Record content type {byte}: {name}. Handshake (22) agrees on keys; application data (23) carries protected bytes; alert (21) and change_cipher_spec (20) are signals.",
    ),
    (
        "tls.field.record_version",
        "Record version, {version}: not the version in use. Records say 0x0303 (0x0301 in a first ClientHello) whatever the version, so old middleboxes let them pass; the real version is agreed in the hellos.",
    ),
    (
        "tls.field.legacy_version",
        "Hello version, {version}: TLS 1.3 leaves it at TLS 1.2 and names its real version in the supported_versions extension.",
    ),
    (
        "tls.field.record_length",
        "{n} of record follow (at most 16384 bytes of plaintext, plus what protection adds).",
    ),
    (
        "tls.field.handshake_type",
        "Handshake message type {byte}: {name}.",
    ),
    (
        "tls.field.handshake_length",
        "{n} of handshake message follow.",
    ),
    (
        "tls.field.random",
        "32 random bytes. A key log names each conversation by the client's random.",
    ),
    (
        "tls.field.session_id",
        "Legacy session id, {n} (TLS 1.3 clients send random bytes here so middleboxes see a familiar hello).",
    ),
    (
        "tls.field.cipher_suites",
        "{n} cipher suites offered, the client's favourite first: {list}.",
    ),
    (
        "tls.field.cipher_suite",
        "The cipher suite the server chose: {name}. Records are protected with it from here on.",
    ),
    (
        "tls.field.compression",
        "Compression methods: only 0 (none) is allowed.",
    ),
    ("tls.field.extensions_length", "{n} of extensions follow."),
    (
        "tls.field.ext.server_name",
        "Server name (SNI): the host the client wants, sent in the clear so a server with several names can pick its certificate.",
    ),
    (
        "tls.field.ext.alpn",
        "Application protocols the client offers (ALPN): ferry's client offers \"ferry\", and a ferry server refuses a client that offers only others.",
    ),
    (
        "tls.field.ext.alpn_chosen",
        "The application protocol the server chose (ALPN).",
    ),
    (
        "tls.field.ext.versions",
        "TLS versions the client supports (supported_versions), best first.",
    ),
    (
        "tls.field.ext.version_chosen",
        "The TLS version the server chose (supported_versions).",
    ),
    (
        "tls.field.ext.key_share",
        "Key share: the public half of a Diffie-Hellman exchange for this group. Both halves give the keys; the capture holds only the public ones, so it cannot compute them.",
    ),
    (
        "tls.field.ext.other",
        "An extension: its type, length and data.",
    ),
    ("tls.field.handshake_body", "{n} of the handshake message."),
    (
        "tls.field.change_cipher_spec",
        "change_cipher_spec: in TLS 1.2 the sender encrypts from here on; TLS 1.3 sends it only for old middleboxes and ignores it.",
    ),
    (
        "tls.field.alert_level",
        "Alert level {byte}: 1 warning, 2 fatal (the connection ends).",
    ),
    ("tls.field.alert_description", "Alert: {name}."),
    (
        "tls.field.encrypted",
        "{n} encrypted: the ferry messages are inside and cannot be read without the keys (ferry decode --keylog FILE, with the client's SSLKEYLOGFILE).",
    ),
    (
        "tls.field.auth_tag",
        "Authentication tag: computed from the key, the bytes and the header; one changed byte and the record does not open.",
    ),
    // Records.
    ("what.tls_record", "TLS record"),
    ("tls.not_record.summary", "not a TLS record"),
    (
        "tls.capture_ends",
        "the capture ends in the middle of a TLS record (after {n} of its bytes), with no FIN or RST captured: the rest may well have arrived",
    ),
    (
        "tls.not_record",
        "the bytes at offset {at} are not a TLS record (unknown content type, version or a length over 16640); this direction cannot be read past them",
    ),
    (
        "tls.ccs",
        "TLS change_cipher_spec: from here on this side encrypts",
    ),
    (
        "tls.ccs13",
        "TLS change_cipher_spec (only for old middleboxes; TLS 1.3 ignores it)",
    ),
    ("tls.other", "TLS {kind} record"),
    ("tls.continued", "the rest of a handshake message"),
    ("tls.continues", "{name} (continues in the next record)"),
    (
        "tls.bad_hello",
        "this {name} breaks TLS's format; its bytes are shown whole",
    ),
    ("tls.sealed", "TLS application data: {n}, encrypted"),
    (
        "tls.open_failed",
        "the TLS record at offset {at} does not open with the key log's secrets (the key log is of another conversation, or bytes changed); the rest of this direction stays encrypted",
    ),
    (
        "tls.opened.data",
        "TLS application data: {n}, decrypted: {m} of ferry messages",
    ),
    (
        "tls.opened.handshake",
        "TLS application data: {n}, decrypted: handshake, {names}",
    ),
    (
        "tls.opened.alert",
        "TLS application data: {n}, decrypted: {alert}",
    ),
    (
        "tls.opened.other",
        "TLS application data: {n}, decrypted: content type {kind}",
    ),
    ("tls.alert", "alert {name} ({level})"),
    (
        "tls.client_hello",
        "TLS ClientHello: offers {versions}, {n} cipher suites, ALPN {alpn}, server name {name}",
    ),
    ("tls.server_hello", "TLS ServerHello: {version}, {suite}"),
    (
        "tls.retry",
        "TLS HelloRetryRequest: the server asks for a key share in {group}",
    ),
    ("word.none", "none"),
    ("word.unknown", "unknown"),
    // The conversation.
    (
        "tls.lesson.about",
        "This conversation is encrypted with TLS ({version}, {suite}). A capture shows its handshake in the clear (the server name, the versions and cipher suites offered and chosen) but not the ferry messages, the password or the files.",
    ),
    (
        "tls.lesson.no_keylog",
        "With the key log the client wrote (SSLKEYLOGFILE=FILE), ferry decode --keylog FILE opens it.",
    ),
    (
        "tls.lesson.opened",
        "The key log opened {n} of its records: the ferry messages shown inside were encrypted on the wire.",
    ),
    (
        "tls.lesson.no_secrets",
        "The key log has no secrets for this conversation (none for its ClientHello's random): it was written by another run.",
    ),
    (
        "tls.lesson.tls12",
        "This conversation uses TLS 1.2: its handshake is shown, but decryption covers TLS 1.3 only.{held}",
    ),
    (
        "tls.lesson.tls12_held",
        " The key log holds its TLS 1.2 master secret.",
    ),
    (
        "tls.lesson.suite",
        "Decryption covers AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305; this conversation uses {suite}.",
    ),
    (
        "tls.lesson.not_opened",
        "The key log has secrets for it, but no record was opened.",
    ),
    // ferry decode and the page.
    ("ui.inside_tls", "inside TLS: {summary}"),
    (
        "ui.legend_decrypted",
        "Inside TLS (read with the key log), a field's bytes count in that direction's decrypted stream.",
    ),
    // ferry messages read from decrypted records.
    (
        "auth.summary.tls",
        "AUTH as \"{user}\" (password encrypted by TLS on the wire)",
    ),
    (
        "auth.protected",
        "the password of \"{user}\" crossed the network encrypted by TLS; it shows here only because the key log was given",
    ),
];

/// Portuguese.
pub(crate) static PT: &[(&str, &str)] = &[
    // Campos.
    (
        "tls.field.content_type",
        "Tipo de conteúdo do registro {byte}: {name}. Handshake (22) combina as chaves; application data (23) leva bytes protegidos; alert (21) e change_cipher_spec (20) são sinais.",
    ),
    (
        "tls.field.record_version",
        "Versão do registro, {version}: não é a versão em uso. Os registros dizem 0x0303 (0x0301 num primeiro ClientHello) qualquer que seja a versão, para que equipamentos antigos no caminho os deixem passar; a versão real é combinada nos hellos.",
    ),
    (
        "tls.field.legacy_version",
        "Versão do hello, {version}: o TLS 1.3 a deixa em TLS 1.2 e diz a versão real na extensão supported_versions.",
    ),
    (
        "tls.field.record_length",
        "seguem {n} de registro (no máximo 16384 bytes de texto claro, mais o que a proteção acrescenta).",
    ),
    (
        "tls.field.handshake_type",
        "Tipo da mensagem de handshake {byte}: {name}.",
    ),
    (
        "tls.field.handshake_length",
        "seguem {n} da mensagem de handshake.",
    ),
    (
        "tls.field.random",
        "32 bytes aleatórios. Um key log identifica cada conversa pelo random do cliente.",
    ),
    (
        "tls.field.session_id",
        "Session id legado, {n} (clientes TLS 1.3 mandam bytes aleatórios aqui para que equipamentos no caminho vejam um hello conhecido).",
    ),
    (
        "tls.field.cipher_suites",
        "{n} cipher suites oferecidas, a preferida do cliente primeiro: {list}.",
    ),
    (
        "tls.field.cipher_suite",
        "A cipher suite escolhida pelo servidor: {name}. Daqui em diante os registros são protegidos com ela.",
    ),
    (
        "tls.field.compression",
        "Métodos de compressão: só 0 (nenhum) é permitido.",
    ),
    ("tls.field.extensions_length", "seguem {n} de extensões."),
    (
        "tls.field.ext.server_name",
        "Nome do servidor (SNI): o host que o cliente quer, enviado em claro para que um servidor com vários nomes escolha seu certificado.",
    ),
    (
        "tls.field.ext.alpn",
        "Protocolos de aplicação oferecidos pelo cliente (ALPN): o cliente do ferry oferece \"ferry\", e um servidor ferry recusa um cliente que só ofereça outros.",
    ),
    (
        "tls.field.ext.alpn_chosen",
        "O protocolo de aplicação escolhido pelo servidor (ALPN).",
    ),
    (
        "tls.field.ext.versions",
        "Versões de TLS que o cliente aceita (supported_versions), a melhor primeiro.",
    ),
    (
        "tls.field.ext.version_chosen",
        "A versão de TLS escolhida pelo servidor (supported_versions).",
    ),
    (
        "tls.field.ext.key_share",
        "Key share: a metade pública de uma troca Diffie-Hellman neste grupo. As duas metades dão as chaves; a captura só tem as públicas, então não consegue calculá-las.",
    ),
    (
        "tls.field.ext.other",
        "Uma extensão: tipo, tamanho e dados.",
    ),
    ("tls.field.handshake_body", "{n} da mensagem de handshake."),
    (
        "tls.field.change_cipher_spec",
        "change_cipher_spec: no TLS 1.2 quem envia passa a cifrar daqui em diante; o TLS 1.3 o envia só por equipamentos antigos e o ignora.",
    ),
    (
        "tls.field.alert_level",
        "Nível do alerta {byte}: 1 aviso, 2 fatal (a conexão termina).",
    ),
    ("tls.field.alert_description", "Alerta: {name}."),
    (
        "tls.field.encrypted",
        "{n} cifrados: as mensagens do ferry estão dentro e não podem ser lidas sem as chaves (ferry decode --keylog ARQUIVO, com o SSLKEYLOGFILE do cliente).",
    ),
    (
        "tls.field.auth_tag",
        "Tag de autenticação: calculada da chave, dos bytes e do cabeçalho; um byte alterado e o registro não abre.",
    ),
    // Registros.
    ("what.tls_record", "registro TLS"),
    ("tls.not_record.summary", "não é um registro TLS"),
    (
        "tls.capture_ends",
        "a captura termina no meio de um registro TLS (após {n} dos seus bytes), sem FIN nem RST capturado: o resto pode muito bem ter chegado",
    ),
    (
        "tls.not_record",
        "os bytes no offset {at} não são um registro TLS (tipo de conteúdo, versão desconhecidos ou tamanho acima de 16640); esta direção não pode ser lida além deles",
    ),
    (
        "tls.ccs",
        "TLS change_cipher_spec: daqui em diante este lado cifra",
    ),
    (
        "tls.ccs13",
        "TLS change_cipher_spec (só por equipamentos antigos; o TLS 1.3 o ignora)",
    ),
    ("tls.other", "registro TLS {kind}"),
    ("tls.continued", "o resto de uma mensagem de handshake"),
    ("tls.continues", "{name} (continua no próximo registro)"),
    (
        "tls.bad_hello",
        "este {name} viola o formato do TLS; seus bytes aparecem inteiros",
    ),
    ("tls.sealed", "TLS application data: {n}, cifrados"),
    (
        "tls.open_failed",
        "o registro TLS no offset {at} não abre com os segredos do key log (o key log é de outra conversa, ou bytes mudaram); o resto desta direção fica cifrado",
    ),
    (
        "tls.opened.data",
        "TLS application data: {n}, decifrados: {m} de mensagens do ferry",
    ),
    (
        "tls.opened.handshake",
        "TLS application data: {n}, decifrados: handshake, {names}",
    ),
    (
        "tls.opened.alert",
        "TLS application data: {n}, decifrados: {alert}",
    ),
    (
        "tls.opened.other",
        "TLS application data: {n}, decifrados: tipo de conteúdo {kind}",
    ),
    ("tls.alert", "alerta {name} ({level})"),
    (
        "tls.client_hello",
        "TLS ClientHello: oferece {versions}, {n} cipher suites, ALPN {alpn}, nome do servidor {name}",
    ),
    (
        "tls.server_hello",
        "TLS ServerHello: {version}, {suite} (escolhidos pelo servidor)",
    ),
    (
        "tls.retry",
        "TLS HelloRetryRequest: o servidor pede um key share em {group}",
    ),
    ("word.none", "nenhum"),
    ("word.unknown", "desconhecida"),
    // A conversa.
    (
        "tls.lesson.about",
        "Esta conversa é cifrada com TLS ({version}, {suite}). Uma captura mostra o handshake em claro (o nome do servidor, as versões e cipher suites oferecidas e escolhidas), mas não as mensagens do ferry, a senha nem os arquivos.",
    ),
    (
        "tls.lesson.no_keylog",
        "Com o key log que o cliente escreveu (SSLKEYLOGFILE=ARQUIVO), ferry decode --keylog ARQUIVO a abre.",
    ),
    (
        "tls.lesson.opened",
        "O key log abriu {n} dos seus registros: as mensagens do ferry mostradas dentro deles estavam cifradas na rede.",
    ),
    (
        "tls.lesson.no_secrets",
        "O key log não tem segredos para esta conversa (nenhum para o random do seu ClientHello): foi escrito por outra execução.",
    ),
    (
        "tls.lesson.tls12",
        "Esta conversa usa TLS 1.2: o handshake aparece, mas a decifração cobre só o TLS 1.3.{held}",
    ),
    (
        "tls.lesson.tls12_held",
        " O key log tem o master secret dela (TLS 1.2).",
    ),
    (
        "tls.lesson.suite",
        "A decifração cobre AES-128-GCM, AES-256-GCM e ChaCha20-Poly1305; esta conversa usa {suite}.",
    ),
    (
        "tls.lesson.not_opened",
        "O key log tem segredos para ela, mas nenhum registro abriu.",
    ),
    // ferry decode e a página.
    ("ui.inside_tls", "dentro do TLS: {summary}"),
    (
        "ui.legend_decrypted",
        "Dentro do TLS (lido com o key log), os bytes de um campo contam no fluxo decifrado daquela direção.",
    ),
    // Mensagens do ferry lidas de registros decifrados.
    (
        "auth.summary.tls",
        "AUTH como \"{user}\" (senha cifrada pelo TLS na rede)",
    ),
    (
        "auth.protected",
        "a senha de \"{user}\" atravessou a rede cifrada pelo TLS; ela aparece aqui só porque o key log foi dado",
    ),
];
