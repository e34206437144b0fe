namespace Classifier;

/// <summary>One example: a word and the index of its language in <see cref="Words.Languages"/>.</summary>
public sealed record Example(string Word, int Language);

/// <summary>
/// Common words of five languages (everyday nouns, verbs, adjectives and function words, lower case, with their
/// accents), the character vocabulary, and a held-out split. A word that is spelt the same in two languages ("idea",
/// "problema", "hospital") is dropped from both: its language cannot be told from its spelling.
/// </summary>
public static class Words
{
    public static readonly string[] Languages = ["English", "French", "German", "Spanish", "Italian"];

    /// <summary>Characters: 0 is padding, 1 an unknown character, then these.</summary>
    public const string Alphabet = "abcdefghijklmnopqrstuvwxyzàáâäæçèéêëìíîïñòóôöœùúûüß";
    public const int Vocabulary = 2 + 51;

    private const string English = """
        time person year way day thing man world life hand part child eye woman place work week case point government
        company number group problem fact about after again against always among another answer around because before
        began being below between both brought build called came cannot carry children city close country could cover
        cross during early earth enough even every family father field figure finally follow food found friend green
        ground happened heard heavy high himself house however hundred important inside island itself kept kind knew
        knowledge language large later learn leave letter light little looked making might money morning mother mountain
        never night nothing notice often order other outside paper people picture plant question quickly rather reached
        ready remember river round school science second sentence should shown simple since small something sometimes
        sound south special started still story street strong study surface through together toward travel though
        thought thousand under until usually voice watch weather which while white whole without wonder would write
        wrong young yellow brother daughter kitchen window garden teacher happy sorry pretty tomorrow yesterday tonight
        evening afternoon breakfast dinner lunch weekend holiday birthday wedding shopping building bridge church
        village forest ocean winter summer spring autumn angry tired hungry thirsty beautiful ugly cheap expensive easy
        difficult quiet loud bright dark dirty clean the and with from this that they have what their there when your
        said each which she how will them these some her would make like him into has look two more go see way could
        people my than first water been call who oil its now find long down did get come made may animal area army baby
        bag ball bank bath battle beach bear bed bedroom bell belt bird blood board boat body bone bottle bottom box boy
        brain branch bread breath brick brush bucket button cake camera candle captain card carpet castle cattle chair
        chalk cheese chicken chief circle clock cloth cloud coast coat coffee collar colour corner cotton cough cousin
        cow crowd cup curtain cushion desk dog door drawer dress drink driver dust ear egg elbow engine face farm
        feather finger fire fish flag floor flower fly foot fork glass glove goat gold grass hair hammer hat head heart
        hill horse hour ice iron jelly jewel journey key king kitten knee knife knot ladder leaf leather library lip
        lock machine map market meat milk monkey moon mouse mouth nail neck needle nest nose nurse office owl parcel pen
        pencil pig pillow pin pipe plate pocket potato prison pump queen rabbit rain rat ring road roof room root rope
        sail salt sand scissors sea seat seed sheep shelf ship shirt shoe skin skirt sky sleep snake snow soap sock
        soldier son soup spoon square stamp star station stick stocking stomach stone store sugar sun table tail thread
        throat thumb ticket toe tongue tooth town train tray tree trousers umbrella wall wheel whip whistle wind wing
        wire worm thinking walking running talking working looking coming going getting taking giving finding telling
        asking seeming feeling trying leaving calling worked seemed asked wanted used tried showed played moved lived
        believed carefully slowly suddenly certainly probably really nearly easily clearly simply exactly recently
        quietly happily darkness kindness happiness weakness illness friendship neighbour neighbourhood wisdom freedom
        childhood brotherhood understanding everything everyone somebody anybody nobody whatever whenever wherever
        although throughout thoroughly laugh rough tough bought caught taught naughty
        """;

    private const string French = """
        le la les une des et est dans pour avec sans sous chez mais donc alors aussi très bien beaucoup peu toujours
        jamais souvent parfois encore déjà maintenant hier demain matin soir nuit jour semaine mois année temps monde
        pays ville maison école travail famille enfant femme homme père mère frère sœur fille garçon ami amie voiture
        chemin rue route fleuve montagne mer plage forêt arbre fleur jardin cuisine chambre fenêtre porte chaise livre
        lettre journal musique chanson peinture histoire langue mot phrase question réponse raison chose problème
        exemple heure argent prix marché magasin boulangerie fromage pain beurre lait eau vin bière viande poisson
        poulet légume fruit pomme café thé sucre sel petit grand gros jeune vieux nouveau beau belle joli heureux triste
        fatigué malade content facile difficile cher chaud froid rapide lent fort faible noir blanc rouge vert bleu
        jaune gris premier dernier seul même autre chaque quelque plusieurs tout tous toute rien personne pourquoi
        comment quand combien avoir être faire dire aller voir savoir pouvoir vouloir venir prendre mettre parler aimer
        trouver donner penser regarder écouter manger boire dormir lire écrire ouvrir fermer chercher attendre
        comprendre apprendre connaître croire devenir sortir partir arriver rester tomber entendre oublier commencer
        finir jouer chanter danser marcher courir nager acheter vendre payer envoyer recevoir gagner perdre pleurer rire
        sourire aider porter laisser montrer rencontrer habiter travailler étudier voyager changer appeler répondre
        demander expliquer raconter décider essayer réussir choisir vieillesse bonheur malheur liberté égalité
        fraternité santé beauté vérité société université nationalité gouvernement développement environnement
        renseignement enseignement mouvement sentiment changement appartement bâtiment hôpital château gâteau bateau
        oiseau cheveux yeux genou chou bijou caillou nouvelle journée soirée matinée entrée pensée idée armée fumée
        rivière lumière prière manière frontière boulanger boucher épicier pharmacien médecin infirmière avocat
        ingénieur chanteur acteur facteur docteur oui non merci bonjour voici voilà ceci cela animal région bébé sac
        balle banque bain bataille ours lit sonnette ceinture sang planche os bouteille fond boîte cerveau branche
        souffle brique brosse seau bouton caméra bougie capitaine carte tapis bétail craie chef cercle horloge tissu
        nuage côte manteau col couleur coin coton toux cousin vache foule tasse rideau coussin bureau chien tiroir robe
        boisson chauffeur poussière oreille œuf coude moteur visage ferme plume doigt feu drapeau sol mouche pied
        fourchette verre gant chèvre or herbe marteau chapeau tête cœur colline cheval glace fer gelée voyage clé roi
        chaton couteau nœud échelle feuille cuir bibliothèque lèvre serrure machine lune souris bouche clou cou aiguille
        nid nez hibou colis stylo crayon cochon oreiller épingle tuyau assiette poche prison pompe reine lapin pluie
        bague toit racine corde voile sable ciseaux siège graine mouton étagère navire chemise chaussure peau jupe ciel
        sommeil serpent neige savon chaussette soldat soupe cuillère timbre étoile gare bâton estomac pierre soleil
        queue fil gorge pouce billet orteil dent plateau pantalon parapluie mur montre roue sifflet vent aile ver
        pensant marchant parlant travaillant regardant venant allant prenant donnant trouvant disait faisait allait
        venait pouvait voulait savait avait était étaient avons avez ont sommes êtes font vont disons parlons mangeons
        finissons pouvons voulons lentement rapidement doucement vraiment seulement simplement exactement certainement
        probablement heureusement malheureusement évidemment tellement gentillesse tristesse jeunesse faiblesse richesse
        paresse sagesse politesse amitié voisin voisinage connaissance naissance enfance souvenir quelquefois quoique
        pourtant cependant néanmoins ailleurs dessous dessus autour auprès
        """;

    private const string German = """
        der die das und ist nicht ein eine mit auf für von zu den dem des sich auch nach bei aus wie noch nur oder aber
        wenn dann schon sehr viel mehr immer wieder hier dort heute morgen gestern abend nacht woche monat jahr zeit
        welt land stadt dorf haus schule arbeit familie kind kinder frau mann vater mutter bruder schwester tochter sohn
        freund freundin straße weg fluss berg meer strand wald baum blume garten küche zimmer fenster tür tisch stuhl
        buch brief zeitung musik lied bild geschichte sprache wort satz frage antwort grund sache beispiel augenblick
        stunde geld preis markt geschäft bäckerei käse brot butter milch wasser wein bier fleisch fisch huhn gemüse obst
        apfel kaffee tee zucker salz klein groß dick jung alt neu schön hübsch glücklich traurig müde krank zufrieden
        leicht schwer teuer billig warm kalt schnell langsam stark schwach schwarz weiß rot grün blau gelb grau erste
        letzte allein gleich andere jeder manche alles nichts jemand niemand warum wann weil haben sein machen sagen
        gehen sehen wissen können wollen kommen nehmen stellen sprechen lieben finden geben denken schauen hören essen
        trinken schlafen lesen schreiben öffnen schließen suchen warten verstehen lernen kennen glauben werden ausgehen
        abfahren ankommen bleiben fallen vergessen anfangen beenden spielen singen tanzen laufen rennen schwimmen kaufen
        verkaufen bezahlen schicken bekommen gewinnen verlieren weinen lachen lächeln helfen tragen lassen zeigen
        treffen wohnen arbeiten studieren reisen ändern rufen antworten fragen erklären erzählen entscheiden versuchen
        gelingen wählen freiheit gleichheit gesundheit schönheit wahrheit gesellschaft wissenschaft mannschaft
        freundschaft landschaft wirtschaft regierung entwicklung umwelt bewegung gefühl änderung wohnung gebäude
        krankenhaus schloss kuchen schiff vogel haare augen knie kohl schmuck stein nachricht tag mittag vormittag
        eingang gedanke himmel licht gebet weise grenze bäcker metzger händler apotheker arzt krankenschwester anwalt
        sänger schauspieler briefträger mädchen junge fußball bahnhof flughafen zug fahrrad kirche brücke ja nein danke
        bitte guten entschuldigung vielleicht zusammen natürlich wirklich tier gebiet heer tasche bank bad schlacht bär
        bett schlafzimmer glocke gürtel blut brett boot körper knochen flasche boden kiste gehirn ast atem ziegel bürste
        eimer knopf kerze kapitän karte teppich vieh kreide häuptling kreis uhr tuch wolke küste mantel kragen farbe
        ecke baumwolle husten vetter kuh menge tasse vorhang kissen schreibtisch hund schublade kleid getränk fahrer
        staub ohr ei ellbogen motor gesicht bauernhof feder finger feuer fahne fußboden fliege fuß gabel glas handschuh
        ziege gold gras hammer hut kopf herz hügel pferd eis eisen gelee juwel reise schlüssel könig kätzchen messer
        knoten leiter blatt leder bücherei lippe maschine landkarte mond maus mund nagel hals nadel nest nase büro eule
        paket stift bleistift schwein kopfkissen stecknadel rohr teller kartoffel gefängnis pumpe königin kaninchen
        regen ratte ring dach raum wurzel seil segel sand schere sitz samen schaf regal hemd schuh haut rock schlaf
        schlange schnee seife socke soldat suppe löffel platz briefmarke stern stock strumpf magen laden sonne schwanz
        faden daumen fahrkarte zehe zunge zahn tablett hose regenschirm mauer rad peitsche pfeife wind flügel draht wurm
        denkend gehend sprechend arbeitete machte sagte ging kam sah wusste konnte wollte hatte war waren sind habt wir
        gemacht gesagt gegangen gekommen gesehen gewusst gekauft verkauft geschrieben gelesen getrunken gegessen
        geschlafen plötzlich sicherlich wahrscheinlich endlich beinahe deutlich einfach genau kürzlich ruhig freundlich
        dunkelheit freundlichkeit glück schwäche krankheit nachbar nachbarschaft kenntnis weisheit kindheit verständnis
        jedermann irgendwer irgendwann überall obwohl trotzdem deshalb außerdem zwischen während gegenüber ungefähr
        manchmal
        """;

    private const string Spanish = """
        el los las una unos es en con sin sobre para por pero porque también muy bien mucho poco siempre nunca nada
        todavía ya ahora hoy ayer mañana tarde noche día semana mes año tiempo mundo país ciudad pueblo casa escuela
        trabajo familia niño niña mujer hombre padre madre hermano hermana hija hijo amigo amiga coche camino calle río
        montaña playa bosque árbol flor jardín cocina habitación ventana puerta mesa silla libro carta periódico música
        canción pintura historia idioma palabra frase pregunta respuesta razón cosa problema ejemplo momento hora minuto
        dinero precio mercado tienda panadería queso pan mantequilla leche agua vino cerveza carne pescado pollo verdura
        fruta manzana naranja café azúcar pequeño grande gordo joven viejo nuevo bonito hermoso feliz triste cansado
        enfermo contento fácil difícil caro barato caliente frío rápido lento fuerte débil negro blanco rojo verde azul
        amarillo gris primero último solo mismo otro cada alguno varios todo todos ninguno alguien nadie cuándo cuánto
        tener ser estar hacer decir ir ver saber poder querer venir tomar poner hablar amar encontrar dar pensar mirar
        escuchar comer beber dormir leer escribir abrir cerrar buscar esperar entender aprender conocer creer salir
        llegar quedar caer oír olvidar empezar terminar jugar cantar bailar caminar correr nadar comprar vender pagar
        enviar recibir ganar perder llorar reír sonreír ayudar llevar dejar mostrar vivir trabajar estudiar viajar
        cambiar llamar responder preguntar explicar contar decidir intentar elegir libertad igualdad salud belleza
        verdad sociedad universidad nacionalidad gobierno desarrollo ambiente movimiento sentimiento cambio apartamento
        edificio hospital castillo pastel barco pájaro pelo ojos rodilla joya piedra noticia mediodía entrada
        pensamiento idea ejército humo cielo luz oración manera frontera panadero carnicero farmacéutico médico
        enfermera abogado ingeniero cantante actor cartero doctor chica chico fútbol estación aeropuerto tren bicicleta
        iglesia puente corazón educación información situación nación atención relación población dirección generalmente
        rápidamente sí gracias hola adiós animal respuesta zona bebé bolso pelota banco baño batalla oso cama timbre
        cinturón sangre tabla hueso botella fondo caja cerebro rama aliento ladrillo cepillo cubo botón cámara vela
        capitán tarjeta alfombra ganado tiza jefe círculo reloj tela nube costa abrigo cuello color rincón algodón tos
        primo vaca multitud taza cortina cojín escritorio perro cajón vestido bebida conductor polvo oreja huevo codo
        motor cara granja pluma dedo fuego bandera suelo mosca pie tenedor vaso guante cabra oro hierba martillo
        sombrero cabeza colina caballo hielo hierro viaje llave rey gatito cuchillo nudo escalera hoja cuero biblioteca
        labio cerradura máquina mapa luna ratón boca clavo aguja nido nariz oficina búho paquete bolígrafo lápiz cerdo
        almohada alfiler tubo plato bolsillo patata cárcel bomba reina conejo lluvia rata anillo tejado raíz cuerda
        arena tijeras asiento semilla oveja estante camisa zapato piel falda sueño serpiente nieve jabón calcetín
        soldado sopa cuchara sello estrella palo estómago sol cola hilo garganta pulgar billete lengua diente rueda
        silbato viento ala alambre gusano pensando caminando hablando trabajando mirando viniendo yendo tomando dando
        encontrando decía hacía iba venía podía quería sabía tenía era eran estaban tenemos tienen somos hacemos vamos
        decimos hablamos comemos vivimos podemos queremos lentamente suavemente realmente solamente simplemente
        exactamente ciertamente probablemente felizmente desgraciadamente evidentemente amabilidad tristeza juventud
        debilidad riqueza pereza sabiduría cortesía amistad vecino vecindario conocimiento nacimiento infancia recuerdo
        quizás aunque además alrededor debajo encima
        """;

    private const string Italian = """
        il lo gli le uno è di con senza sopra per perché anche molto bene poco sempre mai niente ancora già adesso oggi
        ieri domani mattina sera notte giorno settimana mese anno tempo mondo paese città villaggio casa scuola lavoro
        famiglia bambino bambina donna uomo padre madre fratello sorella figlia figlio amico amica macchina strada fiume
        montagna mare spiaggia bosco albero fiore giardino cucina camera finestra porta tavolo sedia libro lettera
        giornale musica canzone pittura storia lingua parola frase domanda risposta ragione cosa problema esempio
        momento ora minuto soldi prezzo mercato negozio panetteria formaggio pane burro latte acqua vino birra carne
        pesce pollo verdura frutta mela arancia caffè zucchero sale piccolo grande grasso giovane vecchio nuovo bello
        felice triste stanco malato contento facile difficile caro economico caldo freddo veloce lento forte debole nero
        bianco rosso verde azzurro giallo grigio primo ultimo solo stesso altro ogni qualche parecchi tutto tutti
        nessuno qualcuno come quando quanto avere essere fare dire andare vedere sapere potere volere venire prendere
        mettere parlare amare trovare dare pensare guardare ascoltare mangiare bere dormire leggere scrivere aprire
        chiudere cercare aspettare capire imparare conoscere credere diventare uscire partire arrivare restare cadere
        sentire dimenticare cominciare finire giocare cantare ballare camminare correre nuotare comprare vendere pagare
        mandare ricevere vincere perdere piangere ridere sorridere aiutare portare lasciare mostrare incontrare abitare
        lavorare studiare viaggiare cambiare chiamare rispondere chiedere spiegare raccontare decidere provare riuscire
        scegliere libertà uguaglianza salute bellezza verità società università nazionalità governo sviluppo ambiente
        movimento sentimento cambiamento appartamento edificio ospedale castello torta barca uccello capelli occhi
        ginocchio gioiello pietra notizia mezzogiorno entrata pensiero idea esercito fumo cielo luce preghiera maniera
        frontiera panettiere macellaio farmacista medico infermiera avvocato ingegnere cantante attore postino dottore
        ragazza ragazzo calcio stazione aeroporto treno bicicletta chiesa ponte cuore educazione informazione situazione
        nazione attenzione relazione popolazione direzione generalmente rapidamente grazie ciao buongiorno arrivederci
        animale zona neonato borsa palla banca bagno battaglia orso letto campanello cintura sangue tavola osso
        bottiglia fondo scatola cervello ramo respiro mattone spazzola secchio bottone fotocamera candela capitano
        biglietto tappeto bestiame gesso capo cerchio orologio stoffa nuvola costa cappotto colletto colore angolo
        cotone tosse cugino mucca folla tazza tenda cuscino scrivania cane cassetto vestito bevanda autista polvere
        orecchio uovo gomito motore faccia fattoria piuma dito fuoco bandiera pavimento mosca piede forchetta bicchiere
        guanto capra oro erba martello cappello testa collina cavallo ghiaccio ferro viaggio chiave re gattino coltello
        nodo scala foglia cuoio biblioteca labbro serratura mappa luna topo bocca chiodo ago nido naso ufficio gufo
        pacco penna matita maiale spillo tubo piatto tasca patata prigione pompa regina coniglio pioggia ratto anello
        tetto radice corda vela sabbia forbici sedile seme pecora scaffale nave camicia scarpa pelle gonna sonno
        serpente neve sapone calzino soldato zuppa cucchiaio francobollo stella bastone stomaco sole coda filo gola
        pollice dente ruota fischietto vento ala verme pensando camminando parlando lavorando guardando venendo andando
        prendendo dando trovando diceva faceva andava veniva poteva voleva sapeva aveva era erano stavano abbiamo hanno
        siamo facciamo andiamo diciamo parliamo mangiamo viviamo possiamo vogliamo lentamente dolcemente veramente
        solamente semplicemente esattamente certamente probabilmente felicemente purtroppo evidentemente gentilezza
        tristezza giovinezza debolezza ricchezza pigrizia saggezza cortesia amicizia vicino vicinato conoscenza nascita
        infanzia ricordo forse sebbene tuttavia inoltre intorno sotto
        """;

    private static readonly (Example[] All, string[] Shared) s_words = Build();

    /// <summary>Every word that belongs to one language only, with its language, in a fixed order.</summary>
    public static IReadOnlyList<Example> All => s_words.All;

    /// <summary>Words spelt the same in two or more of the languages, left out of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Shared => s_words.Shared;

    private static (Example[] All, string[] Shared) Build()
    {
        if (Alphabet.Length + 2 != Vocabulary) throw new InvalidOperationException($"Vocabulary should be {Alphabet.Length + 2}.");
        string[][] lists = [.. new[] { English, French, German, Spanish, Italian }
            .Select(text => text.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Distinct().ToArray())];
        var languageCount = lists.SelectMany(words => words).GroupBy(w => w).ToDictionary(g => g.Key, g => g.Count());
        Example[] all = [.. lists.SelectMany((words, language) => words.Where(w => languageCount[w] == 1).Select(w => new Example(w, language)))];
        string[] shared = [.. languageCount.Where(p => p.Value > 1).Select(p => p.Key).Order(StringComparer.Ordinal)];
        return (all, shared);
    }

    /// <summary>
    /// Held-out split, stratified: <paramref name="testFraction"/> of each language's words (shuffled with
    /// <paramref name="seed"/>) are kept for testing; the rest train.
    /// </summary>
    public static (Example[] Train, Example[] Test) Split(double testFraction, int seed)
    {
        var rng = new Dsl.Rng((ulong)seed);
        var train = new List<Example>();
        var test = new List<Example>();
        foreach (var group in All.GroupBy(e => e.Language))
        {
            Example[] words = [.. group];
            rng.Shuffle<Example>(words);
            // every language keeps a word on each side, however small the fraction
            int held = Math.Clamp((int)Math.Round(words.Length * testFraction), 1, words.Length - 1);
            test.AddRange(words[..held]);
            train.AddRange(words[held..]);
        }
        return ([.. train], [.. test]);
    }

    /// <summary>Characters to ids (lower-cased; characters outside the alphabet map to 1).</summary>
    public static int[] Encode(string word)
    {
        var ids = new int[word.Length];
        for (int i = 0; i < word.Length; i++)
        {
            int k = Alphabet.IndexOf(char.ToLowerInvariant(word[i]));
            ids[i] = k < 0 ? 1 : 2 + k;
        }
        return ids;
    }

    /// <summary>A padded batch: ids [B, S] (0 after each word's end), each word's length, and the languages [B].</summary>
    public static (int[] Ids, int[] Lengths, int S, int[] Languages) Batch(IReadOnlyList<Example> examples)
    {
        int B = examples.Count, S = examples.Max(e => e.Word.Length);
        var ids = new int[B * S];
        var lengths = new int[B];
        var languages = new int[B];
        for (int b = 0; b < B; b++)
        {
            Encode(examples[b].Word).CopyTo(ids, b * S);
            lengths[b] = examples[b].Word.Length;
            languages[b] = examples[b].Language;
        }
        return (ids, lengths, S, languages);
    }
}
